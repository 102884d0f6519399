// memory/guard: the memory guard as the server and engine see it. It owns the sampler (a
// background reading every 200 ms), the admission policy, the emergency policy and the
// counters, and renders /health and /metrics figures. Everything here is safe to call from
// any thread; admit() is the request-path call and takes no lock.
//
// The module as a whole (src/memory/): readings from /proc and cgroups (reader, cgroup,
// proc_parsers), tiers with hysteresis (tiers), per-request and load-time estimates
// (estimate), admission (admission, request_admission), emergency shedding (emergency), the
// shedding order (shedding), heap release (release), their application to a server's work
// (memory_policy, through the engine's workload), and observability (health, metrics, tier_log).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "memory/admission.hpp"
#include "memory/emergency.hpp"
#include "memory/metrics.hpp"
#include "memory/reader.hpp"
#include "memory/sampler.hpp"
#include "memory/tiers.hpp"

namespace pensieve::memory {

struct MemoryGuardConfig {
  ReaderConfig reader;
  ThresholdConfig thresholds;
  std::chrono::milliseconds interval{200};
  AdmissionPolicy admission;
  bool start_sampler = true;  // tests that drive refresh_now() themselves turn it off
};

class MemoryGuard {
 public:
  // Validates the thresholds and takes the first reading. Fails only on a bad configuration;
  // failing readings give an "unknown" status, not an error.
  static Result<std::unique_ptr<MemoryGuard>> create(MemoryGuardConfig config);
  ~MemoryGuard();

  std::shared_ptr<const MemorySnapshot> snapshot() const { return sampler_.latest(); }
  std::shared_ptr<const MemorySnapshot> refresh_now() { return sampler_.refresh_now(); }

  // Request path: decide and count. The decision names the tier and available memory for the
  // x-memory-status / x-available-memory-gb headers on every response.
  AdmissionDecision admit(std::uint64_t needed_bytes);
  // The same decision without counting it (a look ahead, before the request's real cost is known).
  AdmissionDecision would_admit(std::uint64_t needed_bytes) const;

  // Records the current process RSS as the idle baseline (call once the model is loaded).
  void mark_baseline();
  std::uint64_t baseline_bytes() const { return baseline_.load(std::memory_order_relaxed); }

  // The engine reports how much its KV cache holds, for /health and /metrics.
  void set_kv_cache_bytes(std::uint64_t bytes) { kv_cache_bytes_.store(bytes, std::memory_order_relaxed); }

  // Emergency shedding on the latest snapshot: ids the engine must cancel (usually none).
  std::vector<std::uint64_t> emergency_cancellations(std::span<const RunningGeneration> running);
  std::vector<EmergencyRecord> emergency_records() const { return emergency_.records(); }

  // Whether a request needing nothing would be admitted now (safe or warning, or unknown when
  // the policy admits then). /health answers 503 when false.
  bool accepting_requests() const;

  nlohmann::json health_json() const;
  std::string prometheus_text() const;

  // Called with every new snapshot on the sampler thread (see MemorySampler::set_listener).
  void set_listener(MemorySampler::Listener listener) { sampler_.set_listener(std::move(listener)); }

  MemoryMetrics& metrics() { return metrics_; }
  const MemoryMetrics& metrics() const { return metrics_; }
  const MemoryGuardConfig& config() const { return config_; }
  void stop() { sampler_.stop(); }

 private:
  explicit MemoryGuard(MemoryGuardConfig config);
  bool accepting(const MemorySnapshot& snapshot) const;

  MemoryGuardConfig config_;
  MemoryMetrics metrics_;
  MemorySampler sampler_;
  EmergencyPolicy emergency_;
  std::atomic<std::uint64_t> baseline_{0};
  std::atomic<std::uint64_t> kv_cache_bytes_{0};
};

}  // namespace pensieve::memory
