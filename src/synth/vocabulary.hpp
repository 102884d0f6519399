// synth/vocabulary: byte-level BPE ("gpt2") tokenizers for synthetic and test models — a small
// built-in one, or one read from a vocabulary GGUF — written as the tokenizer.* metadata our
// tokenizer and established readers load.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "gguf/reader.hpp"
#include "gguf/writer.hpp"
#include "tokenizer/vocabulary.hpp"

namespace pensieve::synth {

// A vocabulary being assembled: token texts in byte-level form (a space is "Ġ"), their
// tokenizer.ggml.token_type values, and the merges by rank ("left right").
struct TokenList {
  std::vector<std::string> texts;
  std::vector<std::int32_t> types;
  std::vector<std::string> merges;

  std::int32_t size() const { return static_cast<std::int32_t>(texts.size()); }
  // Appends a token and returns its id.
  std::int32_t add(std::string text, tokenizer::TokenType type);
  // The first id whose text is `text` (a linear scan: for the handful of special tokens).
  std::optional<std::int32_t> find(std::string_view text) const;
};

// The tokens, types and merges of a byte-level BPE vocabulary file (tokenizer.ggml.model "gpt2").
Result<TokenList> read_byte_level_vocab(const gguf::Contents& vocab);

// 256 byte tokens (in GPT-2's order) and up to `max_merges` merges learned from a built-in English
// text, with the tokens they form: ordinary prose encodes to a few characters per token.
TokenList builtin_byte_level_vocab(std::size_t max_merges);

struct ChatTokens {
  std::int32_t endoftext = -1;
  std::int32_t im_start = -1;
  std::int32_t im_end = -1;
};

// Makes <|endoftext|> (reusing one already there), <|im_start|> and <|im_end|> control tokens,
// as ChatML templates need.
ChatTokens add_chatml_tokens(TokenList& list);

// Appends ordinary word-like tokens (" qab", " qac", …) until the list holds n_vocab tokens. No
// merge forms them, so encoding never produces them, but they decode to text, so sampling a
// random model's many unreachable ids still streams text as a real model's would.
void add_filler_tokens(TokenList& list, std::size_t n_vocab);

// Everything a tokenizer needs beyond the token list.
struct TokenizerSettings {
  std::string pre_tokenizer;  // tokenizer.ggml.pre, e.g. "qwen2", "llama-bpe"
  std::optional<std::int32_t> bos, eos, pad;
  bool add_bos = false;
  std::string chat_template;  // empty: none written
};

Status write_byte_level_tokenizer(gguf::Writer& writer, const TokenList& list,
                                  const TokenizerSettings& settings);

// The number of tokens in a vocabulary file (a model using it has that n_vocab).
Result<std::uint32_t> vocab_token_count(const gguf::Contents& vocab);

// Copies every tokenizer.* key of `vocab`.
Status copy_tokenizer(gguf::Writer& writer, const gguf::Contents& vocab);

}  // namespace pensieve::synth
