// memory/workload: the server's work as the memory policy acts on it — cached prompts it can give
// back, running generations it can stop, and the counts that tell it work has ended. memory/ sits
// below the engine (it depends on nothing but core/), so the engine implements this
// (engine/scheduler_workload) and the policy never names the scheduler.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memory/emergency.hpp"

namespace pensieve::memory {

class Workload {
 public:
  virtual ~Workload() = default;

  // Cached prompts — kept only in case a later prompt starts the same way — are the first memory
  // to give back: the least recently used half, or all of them. Running generations keep theirs.
  virtual void shrink_cache() = 0;
  virtual void drop_cache() = 0;
  // Whether cached prompts alone hold memory now, so that dropping them would free some.
  virtual bool cache_holds_memory() const = 0;

  virtual std::vector<RunningGeneration> running() const = 0;
  // Stops a running generation; its client is told `why`.
  virtual void cancel(std::uint64_t id, const std::string& why) = 0;

  // Generations ended since start, for any reason.
  virtual std::uint64_t ended() const = 0;
  // What the KV cache holds now; nullopt when it is not a pool whose use can be told.
  virtual std::optional<std::uint64_t> kv_cache_bytes() const = 0;
};

}  // namespace pensieve::memory
