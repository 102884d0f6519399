// memory/health: the "memory" object of GET /health, built from a snapshot.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "memory/snapshot.hpp"

namespace pensieve::memory {

// {"status", "available_bytes", "available_gb", "total_bytes", "cgroup_limit_bytes",
//  "process_rss_bytes", "kv_cache_bytes", "pressure_avg10", "accepting_requests", "thresholds"}.
// Figures that are not known (failed reading, no cgroup limit, no PSI) are null, never 0.
nlohmann::json health_memory_json(const MemorySnapshot& snapshot, std::uint64_t kv_cache_bytes,
                                  bool accepting_requests);

}  // namespace pensieve::memory
