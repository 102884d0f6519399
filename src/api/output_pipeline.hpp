// api/output_pipeline: one generation's output on the request's side, from token ids to the bytes
// of the answer: ids → UTF-8 text (never splitting a character) → stop sequences → the family's
// parser (text, reasoning, tool calls, as chat::ChatEvent) → the answer in the route's format and
// its SSE frames (an AnswerEncoder, such as MessageBuilder). Not thread-safe: the thread serving the request
// drives it. Once its buffers have grown, a token that streams costs no allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/answer_encoder.hpp"
#include "api/frontend.hpp"
#include "api/messages_request.hpp"
#include "chat/chat_event.hpp"
#include "chat/stream_parser.hpp"
#include "engine/generation.hpp"
#include "sampling/stop_matcher.hpp"

namespace pensieve::api {

class OutputPipeline {
 public:
  // `encoder` writes the answer in the route's wire format.
  OutputPipeline(const MessagesRequest& request, Frontend& frontend, const Prompt& prompt,
                 std::unique_ptr<AnswerEncoder> encoder);

  // message_start, once the prompt's cached part is known (so that its usage is the truth).
  void start(std::size_t cached, std::string& out);
  bool started() const { return started_; }
  // One generated token. Returns false once the text asks the generation to stop (a stop
  // sequence, or the one tool call asked for is complete); tokens after that are dropped.
  bool token(std::int32_t id, std::string& out);
  // The end: flushes what is held back and writes the last frames (streaming) or the whole body.
  // Returns the generation's result as the answer reports it.
  engine::GenerationResult finish(const engine::GenerationResult& result, std::string& out);

  // After finish(): the HTTP status of a non-streaming body (200, or the error's).
  int http_status() const { return http_status_; }

 private:
  void parse(std::string_view text, std::string& out);
  void deliver(std::string& out);  // the parser's events into the message

  bool thinking_enabled_;
  bool single_tool_call_;  // disable_parallel_tool_use: stop after the first complete call
  std::int64_t prompt_tokens_;
  std::unique_ptr<TokenDecoder> decoder_;
  std::unique_ptr<chat::StreamParser> parser_;
  sampling::StopMatcher stops_;
  std::unique_ptr<AnswerEncoder> encoder_;

  std::vector<chat::ChatEvent> events_;
  std::string decoded_;   // one token's text
  std::string released_;  // text past the stop matcher
  std::string matched_stop_;
  int tool_calls_ = 0;
  bool stop_now_ = false;
  bool started_ = false;
  std::int64_t consumed_ = 0;  // tokens that reached the text, up to the one that stopped it
  int http_status_ = 200;
};

}  // namespace pensieve::api
