#include "chat/model_template.hpp"

namespace pensieve::chat {
namespace {

Result<std::string> token_text(const gguf::Contents& model, const gguf::ArrayValue* tokens,
                               const char* id_key) {
  auto id = model.get_uint(id_key);
  if (!id) return id.error();
  if (!id->has_value()) return std::string();
  if (tokens == nullptr) {
    return make_error(ErrorCode::kInvalidFormat,
                      std::string(id_key) + " is set but tokenizer.ggml.tokens is missing");
  }
  const std::uint64_t index = **id;
  if (index >= tokens->items.size()) {
    return make_error(ErrorCode::kInvalidFormat, std::string(id_key) + " = " + std::to_string(index) +
                                                     " is outside the vocabulary of " +
                                                     std::to_string(tokens->items.size()) + " tokens");
  }
  auto text = tokens->items[index].as_string();
  if (!text) return make_error(ErrorCode::kInvalidFormat, "tokenizer.ggml.tokens holds a non-string entry");
  return std::string(*text);
}

}  // namespace

Result<ModelChatTemplate> read_model_chat_template(const gguf::Contents& model) {
  ModelChatTemplate out;
  auto source = model.get_string("tokenizer.chat_template");
  if (!source) return source.error();
  if (source->has_value()) out.source = std::string(**source);
  auto tokens = model.get_array("tokenizer.ggml.tokens");
  if (!tokens) return tokens.error();
  auto bos = token_text(model, *tokens, "tokenizer.ggml.bos_token_id");
  if (!bos) return bos.error();
  auto eos = token_text(model, *tokens, "tokenizer.ggml.eos_token_id");
  if (!eos) return eos.error();
  out.bos_token = std::move(*bos);
  out.eos_token = std::move(*eos);
  return out;
}

}  // namespace pensieve::chat
