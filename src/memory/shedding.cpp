#include "memory/shedding.hpp"

#include "memory/byte_size.hpp"

namespace pensieve::memory {

void Shedding::on_reading(const MemorySnapshot& snapshot) {
  relieve_cache(snapshot.tier);
  if (snapshot.tier != Tier::kEmergency) return;
  // While cached prompts hold memory, cancelling waits for the reading after they are dropped.
  if (workload_.cache_holds_memory()) {
    workload_.drop_cache();
  } else {
    cancel_newest(snapshot);
  }
}

void Shedding::relieve_cache(Tier tier) {
  // An unknown tier says nothing about memory: neither act nor forget where we were.
  if (tier == Tier::kUnknown) return;
  const bool entered_warning =
      tier == Tier::kWarning && (last_tier_ == Tier::kSafe || last_tier_ == Tier::kUnknown);
  if (entered_warning) workload_.shrink_cache();
  if (tier == Tier::kCritical) workload_.drop_cache();
  last_tier_ = tier;
}

void Shedding::cancel_newest(const MemorySnapshot& snapshot) {
  const std::vector<RunningGeneration> running = workload_.running();
  if (running.empty()) return;
  const std::vector<std::uint64_t> ids = guard_.emergency_cancellations(running);
  if (ids.empty()) return;
  const std::string why =
      "memory emergency: " + format_bytes(snapshot.reading.available_bytes) +
      " available, below the emergency threshold of " + format_bytes(snapshot.thresholds.emergency_below) +
      "; the newest generations were stopped to keep the machine up. Retry when memory recovers";
  for (std::uint64_t id : ids) workload_.cancel(id, why);
  if (log_) log_(guard_.emergency_records().back().message);
}

}  // namespace pensieve::memory
