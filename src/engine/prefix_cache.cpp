#include "engine/prefix_cache.hpp"

#include <algorithm>

#include "engine/token_prefix.hpp"

namespace pensieve::engine {
void PrefixCache::add(std::vector<std::int32_t> tokens, std::unique_ptr<Sequence> sequence) {
  if (tokens.empty() || sequence == nullptr) return;
  std::erase_if(entries_, [&](const Entry& e) { return common_prefix(e.tokens, tokens) == e.tokens.size(); });
  sequence->set_pinned(false);
  entries_.push_back({std::move(tokens), std::move(sequence), ++uses_});
}

PrefixCache::Match PrefixCache::longest(std::span<const std::int32_t> prompt) {
  Match best;
  for (Entry& e : entries_) {
    const std::size_t common = common_prefix(e.tokens, prompt);
    if (common > best.common) best = {&e, common};
  }
  if (best.entry != nullptr) best.entry->last_used = ++uses_;
  return best;
}

bool PrefixCache::drop_oldest() {
  if (entries_.empty()) return false;
  const auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return a.last_used < b.last_used;
  });
  entries_.erase(oldest);
  return true;
}

std::uint64_t PrefixCache::tokens() const {
  std::uint64_t n = 0;
  for (const Entry& e : entries_) n += e.tokens.size();
  return n;
}

}  // namespace pensieve::engine
