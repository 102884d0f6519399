#include "synth/vocabulary.hpp"

#include <unordered_set>

namespace pensieve::synth {
namespace {

constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";

Error vocab_error(const std::string& what) {
  return make_error(ErrorCode::kInvalidFormat, "vocabulary: " + what);
}

// n ≥ 0 as lowercase letters, at least three of them: 0 → "aaa", 1 → "aab", …
std::string letters(std::size_t n) {
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('a' + n % 26));
    n /= 26;
  } while (n > 0);
  while (s.size() < 3) s.insert(s.begin(), 'a');
  return s;
}

}  // namespace

std::int32_t TokenList::add(std::string text, tokenizer::TokenType type) {
  texts.push_back(std::move(text));
  types.push_back(static_cast<std::int32_t>(type));
  return size() - 1;
}

std::optional<std::int32_t> TokenList::find(std::string_view text) const {
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (texts[i] == text) return static_cast<std::int32_t>(i);
  }
  return std::nullopt;
}

Result<TokenList> read_byte_level_vocab(const gguf::Contents& vocab) {
  auto model = vocab.get_string("tokenizer.ggml.model");
  if (!model) return model.error();
  if (!*model || **model != "gpt2")
    return vocab_error("not a byte-level BPE (tokenizer.ggml.model \"gpt2\") file");
  auto tokens = vocab.get_array(kTokensKey);
  auto merges = vocab.get_array("tokenizer.ggml.merges");
  auto types = vocab.get_array("tokenizer.ggml.token_type");
  if (!tokens) return tokens.error();
  if (!merges) return merges.error();
  if (!types) return types.error();
  if (*tokens == nullptr || *merges == nullptr) return vocab_error("tokens or merges are missing");
  TokenList list;
  const auto& items = (*tokens)->items;
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto text = items[i].as_string();
    if (!text) return vocab_error("token " + std::to_string(i) + " is not a string");
    std::int64_t type = static_cast<std::int64_t>(tokenizer::TokenType::kNormal);
    if (*types != nullptr && i < (*types)->items.size()) type = (*types)->items[i].as_int().value_or(type);
    list.texts.emplace_back(*text);
    list.types.push_back(static_cast<std::int32_t>(type));
  }
  for (const auto& m : (*merges)->items) {
    auto text = m.as_string();
    if (!text) return vocab_error("a merge is not a string");
    list.merges.emplace_back(*text);
  }
  return list;
}

ChatTokens add_chatml_tokens(TokenList& list) {
  using tokenizer::TokenType;
  ChatTokens ids;
  if (auto existing = list.find("<|endoftext|>")) {
    ids.endoftext = *existing;
    list.types[static_cast<std::size_t>(*existing)] = static_cast<std::int32_t>(TokenType::kControl);
  } else {
    ids.endoftext = list.add("<|endoftext|>", TokenType::kControl);
  }
  ids.im_start = list.add("<|im_start|>", TokenType::kControl);
  ids.im_end = list.add("<|im_end|>", TokenType::kControl);
  return ids;
}

void add_filler_tokens(TokenList& list, std::size_t n_vocab) {
  // "Ġ" (U+0120) is a space in byte-level form. The "q" prefix keeps fillers clear of merge
  // results; the set catches any clash anyway, since a tokenizer wants distinct texts.
  std::unordered_set<std::string> taken(list.texts.begin(), list.texts.end());
  for (std::size_t n = 0; list.texts.size() < n_vocab; ++n) {
    std::string text = "\xc4\xa0q" + letters(n);
    if (taken.insert(text).second) list.add(std::move(text), tokenizer::TokenType::kNormal);
  }
}

Status write_byte_level_tokenizer(gguf::Writer& w, const TokenList& list, const TokenizerSettings& settings) {
  PENSIEVE_TRY(w.add_string("tokenizer.ggml.model", "gpt2"));
  PENSIEVE_TRY(w.add_string("tokenizer.ggml.pre", settings.pre_tokenizer));
  PENSIEVE_TRY(w.add_string_array(kTokensKey, list.texts));
  PENSIEVE_TRY(w.add_array("tokenizer.ggml.token_type", list.types));
  PENSIEVE_TRY(w.add_string_array("tokenizer.ggml.merges", list.merges));
  const std::pair<const char*, std::optional<std::int32_t>> ids[] = {
      {"tokenizer.ggml.bos_token_id", settings.bos},
      {"tokenizer.ggml.eos_token_id", settings.eos},
      {"tokenizer.ggml.padding_token_id", settings.pad},
  };
  for (const auto& [key, id] : ids) {
    if (id) PENSIEVE_TRY(w.add_uint32(key, static_cast<std::uint32_t>(*id)));
  }
  PENSIEVE_TRY(w.add_bool("tokenizer.ggml.add_bos_token", settings.add_bos));
  if (!settings.chat_template.empty())
    PENSIEVE_TRY(w.add_string("tokenizer.chat_template", settings.chat_template));
  return {};
}

Result<std::uint32_t> vocab_token_count(const gguf::Contents& vocab) {
  auto tokens = vocab.get_array(kTokensKey);
  if (!tokens) return tokens.error();
  if (*tokens == nullptr || (*tokens)->items.empty())
    return vocab_error("the file has no tokenizer.ggml.tokens");
  return static_cast<std::uint32_t>((*tokens)->items.size());
}

Status copy_tokenizer(gguf::Writer& w, const gguf::Contents& vocab) {
  for (const auto& entry : vocab.metadata) {
    if (entry.key.starts_with("tokenizer.")) PENSIEVE_TRY(w.add_value(entry.key, entry.value));
  }
  return {};
}

}  // namespace pensieve::synth
