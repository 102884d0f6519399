// memory/metrics: counters the guard keeps for /metrics (refusals by reason, emergency
// cancellations, tier transitions), thread-safe through relaxed atomics, and the Prometheus
// text exposition of them together with the latest snapshot's gauges.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "memory/snapshot.hpp"

namespace pensieve::memory {

enum class RefusalReason : std::uint8_t {
  kNone = 0,
  kTierCritical,   // tier is critical or emergency: 503
  kWouldExceed,    // admitting would take available memory below the critical threshold: 503
  kUnknownMemory,  // readings failed and the policy refuses in that case: 503
  kNeverFits,      // more than an idle server could ever provide: 400
};
inline constexpr int kRefusalReasonCount = 5;
const char* to_string(RefusalReason reason);  // "tier_critical", "would_exceed", ...

struct MemoryMetrics {
  std::atomic<std::uint64_t> samples{0};
  std::atomic<std::uint64_t> failed_samples{0};  // readings that left available memory unknown
  std::atomic<std::uint64_t> admitted{0};
  std::array<std::atomic<std::uint64_t>, kRefusalReasonCount> refusals{};
  std::atomic<std::uint64_t> emergency_cancellations{0};
  std::atomic<std::uint64_t> heap_releases{0};  // free heap pages handed back after requests ended
  std::array<std::atomic<std::uint64_t>, kTierCount> transitions_into{};  // by the tier entered

  void count_refusal(RefusalReason reason) {
    refusals[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t refusal_count(RefusalReason reason) const {
    return refusals[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }
  void count_transition_into(Tier tier) {
    transitions_into[static_cast<std::size_t>(tier)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t transitions_into_count(Tier tier) const {
    return transitions_into[static_cast<std::size_t>(tier)].load(std::memory_order_relaxed);
  }
};

// Figures known outside the guard (the engine's KV cache) and the guard's own verdict.
struct ExpositionExtras {
  std::uint64_t kv_cache_bytes = 0;
  bool accepting_requests = true;
};

// Prometheus text format 0.0.4: # HELP / # TYPE lines then samples, metric names prefixed
// pensieve_memory_. Gauges the snapshot lacks (no cgroup, no PSI, unknown reading) are omitted
// rather than written as 0.
std::string render_prometheus(const MemorySnapshot& snapshot, const MemoryMetrics& metrics,
                              const ExpositionExtras& extras);

}  // namespace pensieve::memory
