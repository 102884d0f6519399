// memory/tier_log: the log lines a running server writes about memory — one per tier change and
// one per new reason a reading fails — so an operator never meets a silent "unknown".
#pragma once

#include <functional>
#include <string>

#include "memory/snapshot.hpp"

namespace pensieve::memory {

class TierLog {
 public:
  explicit TierLog(std::function<void(const std::string&)> log) : log_(std::move(log)) {}

  // The first reading is always told: the state the server starts in.
  void on_reading(const MemorySnapshot& snapshot);

 private:
  std::function<void(const std::string&)> log_;
  bool first_ = true;
  Tier tier_ = Tier::kUnknown;
  std::string warning_;
};

}  // namespace pensieve::memory
