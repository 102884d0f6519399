// tokenizer/byte_level_bpe: GPT-2 style byte-level BPE. Token texts spell bytes with printable
// stand-in characters (space is "Ġ"); merges are ranked pairs. Words are merged as token ids, so
// the hot loop is integer look-ups with no strings built.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "gguf/reader.hpp"
#include "tokenizer/hash_index.hpp"
#include "tokenizer/word_cache.hpp"
#include "tokenizer/vocabulary.hpp"

namespace pensieve::tokenizer {

// The byte ↔ stand-in character mapping of byte-level BPE.
std::uint32_t byte_to_codepoint(std::uint8_t byte);
// The byte a stand-in character means, or -1 when it is not one.
int codepoint_to_byte(std::uint32_t cp);
// Rewrites a token text in stand-in characters as the raw bytes it means. Characters that are
// not stand-ins are kept as their UTF-8 (so a malformed vocabulary degrades, never fails).
void append_token_bytes(std::string_view token_text, std::string& out);

// Working memory for encoding words; reused across words and calls to avoid allocations.
struct BpeScratch {
  WordCache cache;
  std::vector<std::int32_t> ids;
  std::vector<std::uint32_t> starts;  // byte offset of each symbol in the word
  std::vector<std::int32_t> ranks;    // rank of merging symbol i with i+1 (short words)
  std::vector<std::int32_t> results;
  std::vector<std::int32_t> next, prev;  // linked symbols (long words)
  struct Candidate {
    std::int32_t rank;
    std::uint32_t left;
    std::int32_t left_id;
    std::int32_t right_id;
    std::int32_t result;
  };
  std::vector<Candidate> heap;
};

class ByteLevelBpe {
 public:
  static Result<ByteLevelBpe> build(const Vocabulary& vocab, const gguf::Contents& metadata, bool ignore_merges);

  // Appends the ids of one pre-tokenized word given as raw bytes.
  void encode_word(std::string_view word, std::vector<std::int32_t>& out, BpeScratch& scratch) const;

 private:
  void merge_short(std::string_view word, BpeScratch& s) const;
  void merge_long(std::string_view word, BpeScratch& s) const;
  void emit(std::string_view word, std::size_t symbol, std::size_t symbol_end, std::int32_t id,
            std::vector<std::int32_t>& out) const;

  std::int32_t n_vocab_ = 0;
  std::optional<std::int32_t> unk_;
  std::array<std::int32_t, 256> byte_token_{};  // -1 where the vocabulary lacks the byte
  MergeIndex merges_;
  bool ignore_merges_ = false;
  // Raw bytes of each normal/user-defined token, for the whole-word look-up of ignore_merges.
  std::string raw_texts_;
  std::vector<std::uint32_t> raw_offsets_;
  StringIdIndex raw_index_;
};

}  // namespace pensieve::tokenizer
