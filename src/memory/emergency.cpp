#include "memory/emergency.hpp"

#include <algorithm>

#include "memory/byte_size.hpp"

namespace pensieve::memory {

std::vector<std::uint64_t> EmergencyPolicy::decide(const MemorySnapshot& snapshot,
                                                   std::span<const RunningGeneration> running) {
  std::lock_guard lock(mutex_);
  // Forget cancelled generations the engine no longer reports.
  std::erase_if(pending_, [&](std::uint64_t id) {
    return std::none_of(running.begin(), running.end(),
                        [id](const RunningGeneration& g) { return g.id == id; });
  });
  if (snapshot.tier != Tier::kEmergency || running.empty()) return {};

  const std::uint64_t available = snapshot.reading.available_bytes;
  // Out of emergency means at or above its threshold plus the hysteresis margin (see TierTracker).
  const std::uint64_t target = snapshot.thresholds.emergency_below + snapshot.thresholds.hysteresis;

  std::vector<const RunningGeneration*> order;
  order.reserve(running.size());
  for (const RunningGeneration& g : running) order.push_back(&g);
  std::sort(order.begin(), order.end(), [](const RunningGeneration* a, const RunningGeneration* b) {
    return a->started_at != b->started_at ? a->started_at > b->started_at : a->id > b->id;
  });

  std::uint64_t expected = available;
  bool waiting_for_unknown = false;
  for (const RunningGeneration* g : order) {
    if (pending_.count(g->id)) {
      expected += g->estimated_bytes;
      if (g->estimated_bytes == 0) waiting_for_unknown = true;
    }
  }

  std::vector<std::uint64_t> cancel;
  std::uint64_t freed = 0;
  for (const RunningGeneration* g : order) {
    if (expected >= target || waiting_for_unknown) break;
    if (pending_.count(g->id)) continue;
    cancel.push_back(g->id);
    pending_.insert(g->id);
    expected += g->estimated_bytes;
    freed += g->estimated_bytes;
    if (g->estimated_bytes == 0) waiting_for_unknown = true;
  }
  if (cancel.empty()) return cancel;

  EmergencyRecord record;
  record.at = std::chrono::system_clock::now();
  record.snapshot_sequence = snapshot.sequence;
  record.available_bytes = available;
  record.target_bytes = target;
  record.running = running.size();
  record.cancelled_ids = cancel;
  record.expected_freed_bytes = freed;
  std::string ids;
  for (std::uint64_t id : cancel) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
  record.message = "memory emergency: " + format_bytes(available) + " available (emergency below " +
                   format_bytes(snapshot.thresholds.emergency_below) + "); cancelled " +
                   std::to_string(cancel.size()) + " of " + std::to_string(running.size()) +
                   " running generations, newest first (ids " + ids + "), expected to free " +
                   format_bytes(freed);
  log_.push_back(std::move(record));
  while (log_.size() > log_capacity_) log_.pop_front();
  cancelled_total_ += cancel.size();
  return cancel;
}

std::vector<EmergencyRecord> EmergencyPolicy::records() const {
  std::lock_guard lock(mutex_);
  return {log_.begin(), log_.end()};
}

std::uint64_t EmergencyPolicy::cancelled_total() const {
  std::lock_guard lock(mutex_);
  return cancelled_total_;
}

}  // namespace pensieve::memory
