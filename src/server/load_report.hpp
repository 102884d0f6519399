// server/load_report: how loaded this server is, in /metrics — requests waiting for a slot,
// requests in slots, and the share of the KV pool running requests hold — so that a pensieve in
// front of this one (`serve --upstream`) admits against it as it does against vLLM or SGLang.
#pragma once

#include <string>

#include "engine/scheduler.hpp"

namespace pensieve::server {

// pensieve_requests_waiting, pensieve_requests_running and, with a KV pool,
// pensieve_kv_cache_usage_ratio (Prometheus text).
std::string load_metrics(const engine::SchedulerStats& stats);

}  // namespace pensieve::server
