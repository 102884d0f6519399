// memory/memory_policy: the memory guard applied to a server's work. It owns the request-path
// admission (memory/request_admission) and, on every reading of the guard's sampler, the tier
// log, the shedding order (memory/shedding) and the heap release after work ends (memory/release).
// The server only wires it to its routes; the engine is reached through memory::Workload.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "memory/guard.hpp"
#include "memory/request_admission.hpp"
#include "memory/shedding.hpp"
#include "memory/tier_log.hpp"
#include "memory/workload.hpp"

namespace pensieve::memory {

class MemoryPolicy {
 public:
  // Logs the state memory is in now, then listens to every reading of `guard`, which keeps the
  // policy alive for as long as it may call it (so the guard must outlive the returned pointer's
  // last use, as it outlives its sampler). `log` receives one line per intervention.
  static std::shared_ptr<MemoryPolicy> start(MemoryGuard& guard, std::unique_ptr<Workload> workload,
                                             RequestCosts costs, std::function<void(const std::string&)> log);

  MemoryPolicy(const MemoryPolicy&) = delete;
  MemoryPolicy& operator=(const MemoryPolicy&) = delete;

  RequestAdmission& admission() { return admission_; }
  MemoryGuard& guard() { return guard_; }

  // A response went out: its request's memory (body, JSON, prompt) is free, and the next reading
  // hands the heap pages it leaves back to the system. Cheap: one relaxed increment.
  void count_response() { responses_.fetch_add(1, std::memory_order_relaxed); }

  // The guard's /health memory object and /metrics text, with what the KV cache holds now.
  nlohmann::json health_json();
  std::string prometheus_text();

 private:
  MemoryPolicy(MemoryGuard& guard, std::unique_ptr<Workload> workload, RequestCosts costs,
               std::function<void(const std::string&)> log);

  void on_reading(const MemorySnapshot& snapshot);
  // A request that ended — finished, failed, cancelled or refused — leaves freed heap pages that
  // glibc keeps mapped; handing them back returns RSS to the idle baseline. Done off the request
  // path, once per reading that follows ended generations or other responses.
  void release_after_work();
  void report_kv_cache();

  MemoryGuard& guard_;
  std::unique_ptr<Workload> workload_;
  RequestAdmission admission_;
  TierLog tier_log_;
  Shedding shedding_;
  std::atomic<std::uint64_t> responses_{0};
  // As of the last release; the sampler thread's only.
  std::uint64_t released_ended_ = 0;
  std::uint64_t released_responses_ = 0;
};

}  // namespace pensieve::memory
