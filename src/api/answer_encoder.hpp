// api/answer_encoder: what one wire format (Anthropic's messages, OpenAI's chat completions)
// makes of an answer. The output pipeline hands it the parser's events as they are — one
// vocabulary from the family parser to the bytes — and the encoder writes frames as it goes
// (streaming) or the whole body at the end.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/error.hpp"
#include "chat/chat_event.hpp"

namespace pensieve::api {

enum class StopReason { kEndTurn, kMaxTokens, kStopSequence, kToolUse };

class AnswerEncoder {
 public:
  virtual ~AnswerEncoder() = default;
  // Of the prompt, `read` tokens came from the cache and `written` were computed and kept there.
  // Before start() and again before end(), when the final split is known.
  virtual void prompt_cache(std::int64_t read, std::int64_t written) = 0;
  // The prompt's size, when the encoder was made with an estimate (an upstream tells its count
  // only at the end): usage reports this from now on, all of it computed until prompt_cache().
  virtual void prompt_tokens(std::int64_t total) = 0;
  virtual void start(std::string& out) = 0;
  // One parser event (reasoning reaches here only when the client asked for it).
  virtual void event(const chat::ChatEvent& event, std::string& out) = 0;
  // The answer is complete: the last frames, or (not streaming) `out` becomes the whole body.
  virtual void end(StopReason reason, std::optional<std::string> stop_sequence, std::int64_t output_tokens,
                   std::string& out) = 0;
  // The generation failed or was cancelled: an error frame, or (not streaming) `out` becomes the
  // error body.
  virtual void fail(const ApiError& error, std::string& out) = 0;
};

struct MessagesRequest;

// How a route writes its answers: the encoder of a generation, the body of an error, and what
// keeps a stream alive while a long prompt is computed.
struct AnswerFormat {
  std::function<std::unique_ptr<AnswerEncoder>(const MessagesRequest& request, std::int64_t prompt_tokens,
                                               const std::string& request_id)>
      encoder;
  std::function<std::string(const ApiError& error, const std::string& request_id)> error_body;
  std::string ping;
};

// Anthropic's messages (MessageBuilder, error_body, the ping event).
AnswerFormat anthropic_format();

}  // namespace pensieve::api
