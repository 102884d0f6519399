// memory/snapshot: one immutable picture of memory — the raw reading, the tier it put us in and
// the thresholds in force — published by the sampler and read by the request path.
#pragma once

#include <cstdint>

#include "memory/reader.hpp"
#include "memory/tiers.hpp"

namespace pensieve::memory {

struct MemorySnapshot {
  std::uint64_t sequence = 0;  // increases by one with every refresh
  MemoryReading reading;
  Tier tier = Tier::kUnknown;
  Thresholds thresholds;
  std::uint64_t tier_transitions = 0;
};

}  // namespace pensieve::memory
