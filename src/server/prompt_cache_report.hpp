// server/prompt_cache_report: the scheduler's prompt cache as /health and /metrics show it —
// tokens held, and since start the share of admitted prompt tokens found there (of which those
// read from disk), the KV pool's blocks and what the disk holds.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine/scheduler.hpp"

namespace pensieve::server {

nlohmann::ordered_json prompt_cache_json(const engine::SchedulerStats& stats);
std::string prompt_cache_metrics(const engine::SchedulerStats& stats);  // Prometheus text

}  // namespace pensieve::server
