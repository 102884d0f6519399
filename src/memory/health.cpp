#include "memory/health.hpp"

#include "memory/byte_size.hpp"

namespace pensieve::memory {

nlohmann::json health_memory_json(const MemorySnapshot& s, std::uint64_t kv_cache_bytes,
                                  bool accepting_requests) {
  const MemoryReading& r = s.reading;
  nlohmann::json j;
  j["status"] = to_string(s.tier);
  if (r.available_known) {
    j["available_bytes"] = r.available_bytes;
    j["available_gb"] = to_gib(r.available_bytes);
    j["total_bytes"] = r.total_bytes;
  } else {
    j["available_bytes"] = nullptr;
    j["available_gb"] = nullptr;
    j["total_bytes"] = nullptr;
  }
  j["cgroup_limit_bytes"] =
      r.cgroup_limit_bytes ? nlohmann::json(*r.cgroup_limit_bytes) : nlohmann::json(nullptr);
  j["process_rss_bytes"] = r.process ? nlohmann::json(r.process->rss_bytes) : nlohmann::json(nullptr);
  j["kv_cache_bytes"] = kv_cache_bytes;
  j["pressure_avg10"] = r.pressure ? nlohmann::json(r.pressure->some_avg10) : nlohmann::json(nullptr);
  j["accepting_requests"] = accepting_requests;
  j["thresholds"] = {
      {"warning_below_bytes", s.thresholds.warning_below},
      {"critical_below_bytes", s.thresholds.critical_below},
      {"emergency_below_bytes", s.thresholds.emergency_below},
      {"hysteresis_bytes", s.thresholds.hysteresis},
  };
  return j;
}

}  // namespace pensieve::memory
