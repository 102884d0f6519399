// Builds snapshots by hand for admission, emergency and exposition tests.
#pragma once

#include "memory/snapshot.hpp"

namespace pensieve::memory::testing {

inline MemorySnapshot snapshot_with(std::uint64_t available, std::uint64_t total,
                                    ThresholdConfig config = {}) {
  MemorySnapshot s;
  s.sequence = 7;
  s.reading.available_known = true;
  s.reading.available_bytes = available;
  s.reading.total_bytes = total;
  s.reading.host_available_bytes = available;
  s.reading.host_total_bytes = total;
  s.thresholds = resolve(config, total);
  s.tier = classify(available, s.thresholds);
  return s;
}

inline MemorySnapshot unknown_snapshot() {
  MemorySnapshot s;
  s.reading.available_known = false;
  s.reading.warnings = {"host memory unknown: cannot open /proc/meminfo"};
  s.thresholds = resolve(ThresholdConfig{}, 0);
  s.tier = Tier::kUnknown;
  return s;
}

}  // namespace pensieve::memory::testing
