// chat/model_template: what a GGUF model carries for chat formatting: its Jinja2 chat template
// (tokenizer.chat_template) and the texts of its BOS and EOS tokens, which templates print as
// bos_token and eos_token.
#pragma once

#include <optional>
#include <string>

#include "core/result.hpp"
#include "gguf/reader.hpp"

namespace pensieve::chat {

struct ModelChatTemplate {
  std::optional<std::string> source;  // absent when the model has no tokenizer.chat_template
  std::string bos_token;              // empty when the model names no BOS token
  std::string eos_token;
};

// Fails when the metadata is present but malformed (wrong type, token id out of range).
Result<ModelChatTemplate> read_model_chat_template(const gguf::Contents& model);

}  // namespace pensieve::chat
