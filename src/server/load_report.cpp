#include "server/load_report.hpp"

#include <cstdio>

namespace pensieve::server {

std::string load_metrics(const engine::SchedulerStats& s) {
  std::string out =
      "# HELP pensieve_requests_waiting Requests queued for a slot.\n"
      "# TYPE pensieve_requests_waiting gauge\n"
      "pensieve_requests_waiting " +
      std::to_string(s.queued) +
      "\n"
      "# HELP pensieve_requests_running Requests in slots, being computed.\n"
      "# TYPE pensieve_requests_running gauge\n"
      "pensieve_requests_running " +
      std::to_string(s.active) + "\n";
  if (s.pool.total_blocks > 0) {
    // Blocks held only by cached prompts count as free: a new request gets them by dropping those.
    const std::size_t idle = s.pool.free_blocks + s.pool.unpinned_only_blocks;
    const std::size_t used = idle < s.pool.total_blocks ? s.pool.total_blocks - idle : 0;
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.6g",
                  static_cast<double>(used) / static_cast<double>(s.pool.total_blocks));
    out +=
        "# HELP pensieve_kv_cache_usage_ratio Share of the KV cache pool held by running requests "
        "(0 to 1).\n"
        "# TYPE pensieve_kv_cache_usage_ratio gauge\n"
        "pensieve_kv_cache_usage_ratio " +
        std::string(ratio) + "\n";
  }
  return out;
}

}  // namespace pensieve::server
