// tokenizer/word_cache: ids of words already encoded during one encode call. Prompts repeat
// their words (JSON keys, identifiers, common English), so most words are answered from here
// instead of being merged again. It lives in the per-call scratch, so no locking is needed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::tokenizer {

class WordCache {
 public:
  // Appends the cached ids of `word` (whose hash_bytes is `hash`); false when not cached.
  bool find(std::string_view word, std::uint64_t hash, std::vector<std::int32_t>& out) const;
  void insert(std::string_view word, std::uint64_t hash, std::span<const std::int32_t> ids);

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t word_offset = 0;
    std::uint32_t word_length = 0;  // 0: empty slot (cached words are never empty)
    std::uint32_t ids_offset = 0;
    std::uint32_t ids_length = 0;
  };
  static constexpr std::size_t kMaxEntries = 1 << 16;

  std::vector<Slot> slots_;
  std::size_t count_ = 0;
  std::string words_;
  std::vector<std::int32_t> ids_;
};

}  // namespace pensieve::tokenizer
