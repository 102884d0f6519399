// api/chat_frontend: the Frontend of a real model — the request's conversation mapped to the
// model's chat-template context (chat/anthropic_mapping), rendered with its Jinja template,
// tokenized so that only the template's own text can produce control tokens (the rendered
// text's untrusted ranges become Segments with allow_special=false), streamed back through
// the tokenizer's UTF-8-safe decoder and the family's tool-call/reasoning parser.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "api/frontend.hpp"
#include "api/grammar_constraint.hpp"
#include "chat/model_template.hpp"
#include "chat/template_family.hpp"
#include "chat/tool_choice.hpp"
#include "gguf/reader.hpp"
#include "jinja/template.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::api {

// gpt-oss's reasoning_effort for Anthropic's thinking settings: the least without thinking (it
// cannot stop reasoning altogether), by budget_tokens with one (below 4096 low, below 16384
// medium, else high), medium (its template's default) when adaptive.
std::string reasoning_effort(bool thinking, std::optional<std::int64_t> budget_tokens);

class ChatFrontend : public Frontend {
 public:
  // Reads the tokenizer and chat template from the model's metadata (ChatML when it has none).
  static Result<std::unique_ptr<ChatFrontend>> from_gguf(const gguf::Contents& metadata);

  Result<Prompt> prompt(const MessagesRequest& request) override;
  std::unique_ptr<TokenDecoder> decoder() override;
  std::unique_ptr<chat::StreamParser> parser(const MessagesRequest& request, const Prompt& prompt) override;
  std::vector<std::int32_t> end_tokens() const override;
  std::size_t longest_token_bytes() const override { return longest_token_bytes_; }
  std::shared_ptr<engine::TokenConstraint> constraint(const Prompt& prompt) override;

  const tokenizer::Tokenizer& tokenizer() const { return tokenizer_; }
  chat::TemplateTraits traits() const { return traits_; }

 private:
  ChatFrontend(tokenizer::Tokenizer tok, jinja::Template tmpl, chat::ModelChatTemplate info,
               chat::TemplateTraits traits, std::string_view template_source);

  tokenizer::Tokenizer tokenizer_;
  jinja::Template template_;
  chat::ModelChatTemplate info_;
  chat::TemplateTraits traits_;
  chat::ToolCallPrefiller prefiller_;
  // A text completion's prompt: the text tokenized as it is, BOS first when the model wants one.
  Prompt raw_prompt(std::string_view text) const;
  void add_bos(std::vector<std::int32_t>& tokens) const;
  // The grammar of a prompt: a forced call's (unconstrained, with a warning, when the family's
  // syntax or the tool's schema cannot be expressed) or the output schema's (a 400 when it cannot).
  Status add_grammar(const MessagesRequest& request, const nlohmann::ordered_json& context, Prompt& p);
  MaskerCache& maskers();

  std::atomic<bool> told_forcing_unsupported_{false};
  std::atomic<bool> told_unconstrained_{false};
  std::mutex told_mutex_;
  std::unordered_set<std::size_t> told_keys_;  // grammars whose unconstrained tools were told
  std::once_flag maskers_made_;
  std::unique_ptr<MaskerCache> maskers_;
  std::size_t longest_token_bytes_ = 0;
};

}  // namespace pensieve::api
