// engine/prefix_cache: finished requests' sequences, kept so that a later prompt starting the same
// way shares their cache instead of computing it (Claude Code resends the whole conversation every
// turn; its sub-agents share a system prompt). Entries are whole token sequences with the backend
// sequence holding their cache; a new entry replaces those that are prefixes of it (it holds them
// all). The scheduler drops the least recently used entries when it needs their memory, and the
// memory guard's tiers shrink or empty it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/backend.hpp"

namespace pensieve::engine {

class PrefixCache {
 public:
  struct Entry {
    std::vector<std::int32_t> tokens;
    std::unique_ptr<Sequence> sequence;  // holds tokens' cache, unpinned
    std::uint64_t last_used = 0;
  };

  // Keeps `sequence` (holding `tokens`) for reuse, unpinned; drops entries it makes redundant.
  // Empty sequences are not kept.
  void add(std::vector<std::int32_t> tokens, std::unique_ptr<Sequence> sequence);

  // The entry sharing the longest prefix with `prompt` (null when none shares a token), marked
  // as just used.
  struct Match {
    Entry* entry = nullptr;
    std::size_t common = 0;
  };
  Match longest(std::span<const std::int32_t> prompt);

  // Drops the least recently used entry; false when there is none.
  bool drop_oldest();
  void clear() { entries_.clear(); }

  const std::vector<Entry>& entries() const { return entries_; }
  std::uint64_t tokens() const;

 private:
  std::vector<Entry> entries_;
  std::uint64_t uses_ = 0;
};

}  // namespace pensieve::engine
