// api/frontend: the text side of the loaded model as the Messages API needs it — a request
// rendered and tokenized into a prompt, token ids turned back into text, and that text split
// into text, reasoning and tool calls. The chat/tokenizer modules implement it (chat_frontend);
// tests implement it with a byte-level stand-in.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/messages_request.hpp"
#include "chat/call_trigger.hpp"
#include "chat/stream_parser.hpp"
#include "core/result.hpp"
#include "engine/token_constraint.hpp"
#include "grammar/grammar.hpp"

namespace pensieve::api {

// Token ids → UTF-8 text, never splitting a character. One per generation.
class TokenDecoder {
 public:
  virtual ~TokenDecoder() = default;
  virtual void push(std::int32_t token, std::string& out) = 0;
  virtual void finish(std::string& out) = 0;
};

struct Prompt {
  std::vector<std::int32_t> tokens;
  bool opens_reasoning = false;  // the prompt leaves a <think> open: output starts as reasoning
  nlohmann::ordered_json tools;  // the function schemas offered to the model, or null
  // The start of a tool call written after the rendered prompt to honour a forced tool_choice
  // (its tokens are at the end of `tokens` and count as input); the output parser reads it
  // first, so the model's continuation completes that call.
  std::string prefill;
  // What the output must follow (a forced tool call after the prefill, or the JSON of an output
  // schema), or null; the key names what it was made from, for the masker cache.
  std::shared_ptr<const grammar::Grammar> grammar;
  std::string grammar_key;
  // Set: the grammar holds only from the trigger on (tool_choice auto), its texts as the
  // constraint's token bytes spell them (a marker's text, or its control token's marked text).
  std::optional<chat::CallTrigger> grammar_trigger;
};

class Frontend {
 public:
  virtual ~Frontend() = default;
  // The prompt for a request: rendered with the model's chat template, tokenized with control
  // tokens recognised only in the template's own text; a raw_prompt is tokenized as it is.
  virtual Result<Prompt> prompt(const MessagesRequest& request) = 0;
  virtual std::unique_ptr<TokenDecoder> decoder() = 0;
  // Splits the output text into text, reasoning and tool calls, as the model's family writes them
  // (the prompt's prefill is fed to it first, by the caller); the calls' ids start with the
  // request's tool_call_id_prefix. A raw_prompt's output is all text.
  virtual std::unique_ptr<chat::StreamParser> parser(const MessagesRequest& request,
                                                     const Prompt& prompt) = 0;
  virtual std::vector<std::int32_t> end_tokens() const = 0;
  // The most bytes of text one token can stand for (0: not known). With it a request's text gives
  // a floor on its prompt tokens before any prompt is built, so a request far too long for the
  // context is refused before it costs the memory and time of rendering and tokenizing.
  virtual std::size_t longest_token_bytes() const { return 0; }
  // The constraint that makes the output follow the prompt's grammar; null without one.
  virtual std::shared_ptr<engine::TokenConstraint> constraint(const Prompt& /*prompt*/) { return nullptr; }
};

}  // namespace pensieve::api
