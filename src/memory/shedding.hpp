// memory/shedding: what the server gives up as memory runs short, in order. Cached prompts go
// first — half of them on entering warning, all of them at critical (at every reading there,
// since finished requests refill the cache) — and in an emergency, while cached prompts still
// hold memory, they are dropped before any work is touched; only then are running generations
// cancelled, newest first (memory/emergency decides which).
#pragma once

#include <functional>
#include <string>

#include "memory/guard.hpp"
#include "memory/snapshot.hpp"
#include "memory/workload.hpp"

namespace pensieve::memory {

class Shedding {
 public:
  // `start_tier`: the tier before the first reading this sees, so that a server starting in
  // warning does not shrink a cache it has not filled.
  Shedding(MemoryGuard& guard, Workload& workload, Tier start_tier,
           std::function<void(const std::string&)> log)
      : guard_(guard), workload_(workload), last_tier_(start_tier), log_(std::move(log)) {}

  // Called with every reading, on the sampler thread.
  void on_reading(const MemorySnapshot& snapshot);

 private:
  void relieve_cache(Tier tier);
  void cancel_newest(const MemorySnapshot& snapshot);

  MemoryGuard& guard_;
  Workload& workload_;
  Tier last_tier_;
  std::function<void(const std::string&)> log_;
};

}  // namespace pensieve::memory
