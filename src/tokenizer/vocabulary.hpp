// tokenizer/vocabulary: the token list of a model as its GGUF metadata gives it — texts, scores,
// types, the ids with special roles and the flags that steer encoding — copied out of the file
// so a Tokenizer outlives it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "gguf/reader.hpp"
#include "tokenizer/hash_index.hpp"

namespace pensieve::tokenizer {

// Values of `tokenizer.ggml.token_type`.
enum class TokenType : std::uint8_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

enum class VocabKind {
  kSentencePiece,  // tokenizer.ggml.model = "llama"
  kByteLevelBpe,   // tokenizer.ggml.model = "gpt2"
};

class Vocabulary {
 public:
  static Result<Vocabulary> from_gguf(const gguf::Contents& metadata);

  std::int32_t size() const { return static_cast<std::int32_t>(types_.size()); }
  bool contains(std::int32_t id) const { return id >= 0 && id < size(); }
  std::string_view text(std::int32_t id) const {
    return std::string_view(texts_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  float score(std::int32_t id) const { return scores_.empty() ? 0.0f : scores_[id]; }
  TokenType type(std::int32_t id) const { return types_[id]; }

  // The id whose text is exactly `text` (the last one when several share it), or -1.
  std::int32_t find(std::string_view text) const {
    return index_.find(text, [this](std::int32_t id) { return this->text(id); });
  }

  VocabKind kind() const { return kind_; }
  std::string_view pre_tokenizer_name() const { return pre_name_; }
  std::string_view architecture() const { return architecture_; }

  std::optional<std::int32_t> bos, eos, eot, eom, unk, pad, sep;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;

 private:
  VocabKind kind_ = VocabKind::kSentencePiece;
  std::string pre_name_;
  std::string architecture_;
  std::string texts_;                   // all token texts back to back
  std::vector<std::uint32_t> offsets_;  // size() + 1 entries into texts_
  std::vector<float> scores_;           // empty when the file has none
  std::vector<TokenType> types_;
  StringIdIndex index_;
};

}  // namespace pensieve::tokenizer
