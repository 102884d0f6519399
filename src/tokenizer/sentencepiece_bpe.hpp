// tokenizer/sentencepiece_bpe: SentencePiece-style BPE (tokenizer.ggml.model = "llama"). Text is
// split into characters and the adjacent pair whose joined text is the highest-scoring token is
// merged until no pair is a token; characters left unknown fall back to <0xNN> byte tokens.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocabulary.hpp"
#include "tokenizer/word_cache.hpp"

namespace pensieve::tokenizer {

struct SpmScratch {
  struct Symbol {
    std::int32_t prev;
    std::int32_t next;
    std::uint32_t start;
    std::uint32_t length;  // 0 once merged into its left neighbour
  };
  struct Bigram {
    float score;
    std::uint32_t left;
    std::uint32_t right;
    std::uint32_t length;
  };
  std::vector<Symbol> symbols;
  std::vector<Bigram> heap;
  WordCache cache;
};

class SentencePieceBpe {
 public:
  explicit SentencePieceBpe(const Vocabulary& vocab);

  // Appends the ids of `text`, whose spaces the caller has already written as U+2581.
  void encode(const Vocabulary& vocab, std::string_view text, std::vector<std::int32_t>& out,
              SpmScratch& scratch) const;

  // The id that spells byte `b` (its <0xNN> token, else a token that is that byte), or -1.
  std::int32_t byte_token(std::uint8_t b) const { return byte_token_[b]; }

 private:
  void encode_word(const Vocabulary& vocab, std::string_view word, std::vector<std::int32_t>& out,
                   SpmScratch& scratch) const;

  std::array<std::int32_t, 256> byte_token_{};
  // True when no token has U+2581 right after another character: then no merge can cross the
  // start of a word, and words are encoded (and cached) one at a time with the same result.
  bool words_are_independent_ = false;
};

// The text a byte-fallback token such as "<0x0A>" stands for, or -1 when it is not one.
int parse_byte_token(std::string_view text);

}  // namespace pensieve::tokenizer
