// memory/emergency: what to cancel when memory reaches the emergency tier. Running generations
// are cancelled newest first (the oldest are nearest to finishing and have cost the most) until
// the memory they are expected to free lifts available memory out of the emergency tier. Each
// intervention leaves a record for the log and /health. memory/shedding asks on every emergency
// reading (through MemoryGuard::emergency_cancellations) and has the engine cancel them.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "memory/snapshot.hpp"

namespace pensieve::memory {

struct RunningGeneration {
  std::uint64_t id = 0;
  std::chrono::steady_clock::time_point started_at{};
  std::uint64_t estimated_bytes = 0;  // what cancelling it should free; 0 when not known
};

struct EmergencyRecord {
  std::chrono::system_clock::time_point at{};
  std::uint64_t snapshot_sequence = 0;
  std::uint64_t available_bytes = 0;
  std::uint64_t target_bytes = 0;  // available memory that ends the emergency
  std::size_t running = 0;         // generations running when it was decided
  std::vector<std::uint64_t> cancelled_ids;
  std::uint64_t expected_freed_bytes = 0;
  std::string message;
};

class EmergencyPolicy {
 public:
  explicit EmergencyPolicy(std::size_t log_capacity = 64) : log_capacity_(log_capacity) {}

  // Ids to cancel, newest first; empty unless the snapshot's tier is emergency. Generations
  // cancelled by an earlier call that are still listed count as already freeing their bytes
  // and are not returned again. When a cancelled generation's size is unknown the policy stops
  // after it and waits for the next snapshot to show the effect.
  std::vector<std::uint64_t> decide(const MemorySnapshot& snapshot,
                                    std::span<const RunningGeneration> running);

  std::vector<EmergencyRecord> records() const;  // oldest first, at most log_capacity
  std::uint64_t cancelled_total() const;

 private:
  std::size_t log_capacity_;
  std::unordered_set<std::uint64_t> pending_;  // cancelled, still reported running
  mutable std::mutex mutex_;                   // guards everything: decide() may race records()
  std::deque<EmergencyRecord> log_;
  std::uint64_t cancelled_total_ = 0;
};

}  // namespace pensieve::memory
