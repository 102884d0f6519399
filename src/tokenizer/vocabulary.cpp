#include "tokenizer/vocabulary.hpp"

#include <limits>
#include <utility>

#include "core/printable.hpp"

namespace pensieve::tokenizer {
namespace {

constexpr std::string_view kModelKey = "tokenizer.ggml.model";
constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";

Error format_error(std::string_view key, const std::string& what) {
  return make_error(ErrorCode::kInvalidFormat, std::string(key) + ": " + what);
}

// Reads an optional token id; an id outside the vocabulary is dropped rather than trusted
// (converters sometimes write a padding id one past the end).
Result<std::optional<std::int32_t>> read_id(const gguf::Contents& m, std::string_view key, std::size_t n_vocab) {
  auto value = m.get_uint(key);
  if (!value) return value.error();
  if (!*value || **value >= n_vocab) return std::optional<std::int32_t>{};
  return std::optional<std::int32_t>(static_cast<std::int32_t>(**value));
}

Result<bool> read_flag(const gguf::Contents& m, std::string_view key, bool fallback) {
  auto value = m.get_bool(key);
  if (!value) return value.error();
  return value->value_or(fallback);
}

}  // namespace

Result<Vocabulary> Vocabulary::from_gguf(const gguf::Contents& m) {
  Vocabulary v;

  auto model = m.get_string(kModelKey);
  if (!model) return model.error();
  if (!*model) return make_error(ErrorCode::kNotFound, "the model file has no tokenizer (no tokenizer.ggml.model)");
  if (**model == "llama") {
    v.kind_ = VocabKind::kSentencePiece;
  } else if (**model == "gpt2") {
    v.kind_ = VocabKind::kByteLevelBpe;
  } else {
    return make_error(ErrorCode::kUnsupported, "tokenizer model '" + core::printable(**model) +
                                                   "' is not supported (supported: llama, gpt2)");
  }

  auto pre = m.get_string("tokenizer.ggml.pre");
  if (!pre) return pre.error();
  if (*pre) v.pre_name_ = std::string(**pre);
  auto arch = m.get_string("general.architecture");
  if (!arch) return arch.error();
  if (*arch) v.architecture_ = std::string(**arch);

  auto tokens = m.get_array(kTokensKey);
  if (!tokens) return tokens.error();
  if (!*tokens) return make_error(ErrorCode::kNotFound, "the model file has no token list (" +
                                                            std::string(kTokensKey) + ")");
  const auto& items = (*tokens)->items;
  if (items.empty()) return format_error(kTokensKey, "the token list is empty");
  if (items.size() >= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    return format_error(kTokensKey, "too many tokens");
  }
  const std::size_t n = items.size();

  std::size_t total = 0;
  for (const auto& item : items) {
    auto s = item.as_string();
    if (!s) return format_error(kTokensKey, "holds a value that is not a string");
    total += s->size();
  }
  if (total >= std::numeric_limits<std::uint32_t>::max()) return format_error(kTokensKey, "token texts too long");
  v.texts_.reserve(total);
  v.offsets_.reserve(n + 1);
  for (const auto& item : items) {
    v.offsets_.push_back(static_cast<std::uint32_t>(v.texts_.size()));
    v.texts_.append(*item.as_string());
  }
  v.offsets_.push_back(static_cast<std::uint32_t>(v.texts_.size()));

  auto scores = m.get_array("tokenizer.ggml.scores");
  if (!scores) return scores.error();
  if (*scores) {
    if ((*scores)->items.size() != n) return format_error("tokenizer.ggml.scores", "length differs from the token list");
    v.scores_.reserve(n);
    for (const auto& item : (*scores)->items) {
      auto f = item.as_float();
      if (!f) return format_error("tokenizer.ggml.scores", "holds a value that is not a number");
      v.scores_.push_back(static_cast<float>(*f));
    }
  }

  v.types_.assign(n, TokenType::kNormal);
  auto types = m.get_array("tokenizer.ggml.token_type");
  if (!types) return types.error();
  if (*types) {
    if ((*types)->items.size() != n) {
      return format_error("tokenizer.ggml.token_type", "length differs from the token list");
    }
    for (std::size_t i = 0; i < n; ++i) {
      auto t = (*types)->items[i].as_int();
      if (!t) return format_error("tokenizer.ggml.token_type", "holds a value that is not an integer");
      v.types_[i] = *t >= 0 && *t <= 6 ? static_cast<TokenType>(*t) : TokenType::kUndefined;
    }
  }

  const auto key_of = [&v](std::int32_t id) { return v.text(id); };
  v.index_.reserve(n, key_of);
  for (std::size_t i = 0; i < n; ++i) {
    const auto id = static_cast<std::int32_t>(i);
    if (!v.text(id).empty()) v.index_.assign(v.text(id), id, key_of);
  }

  struct IdKey {
    std::string_view key;
    std::optional<std::int32_t>* slot;
  };
  const IdKey ids[] = {
      {"tokenizer.ggml.bos_token_id", &v.bos},     {"tokenizer.ggml.eos_token_id", &v.eos},
      {"tokenizer.ggml.eot_token_id", &v.eot},     {"tokenizer.ggml.eom_token_id", &v.eom},
      {"tokenizer.ggml.unknown_token_id", &v.unk}, {"tokenizer.ggml.padding_token_id", &v.pad},
      {"tokenizer.ggml.seperator_token_id", &v.sep},
  };
  for (const auto& [key, slot] : ids) {
    auto id = read_id(m, key, n);
    if (!id) return id.error();
    *slot = *id;
  }

  const bool spm = v.kind_ == VocabKind::kSentencePiece;
  auto add_bos = read_flag(m, "tokenizer.ggml.add_bos_token", spm);
  if (!add_bos) return add_bos.error();
  auto add_eos = read_flag(m, "tokenizer.ggml.add_eos_token", false);
  if (!add_eos) return add_eos.error();
  auto add_space_prefix = read_flag(m, "tokenizer.ggml.add_space_prefix", spm);
  if (!add_space_prefix) return add_space_prefix.error();
  v.add_bos = *add_bos;
  v.add_eos = *add_eos;
  v.add_space_prefix = *add_space_prefix;
  return v;
}

}  // namespace pensieve::tokenizer
