// upstream/completion_reader: an OpenAI-compatible upstream's answer read back as chat::ChatEvents,
// the one event vocabulary the front's encoders consume, together with its stop reason, usage and
// any error (an HTTP error answer is upstream_error.hpp's).
//
// The reader takes the answer's bytes as they arrive, cut anywhere: an SSE stream of
// chat.completion.chunk objects, or one whole chat.completion body when the upstream ignored
// "stream". Both forms of one answer give the same events.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/answer_encoder.hpp"
#include "api/error.hpp"
#include "chat/chat_event.hpp"

namespace pensieve::upstream {

class CompletionReader {
 public:
  // `event_stream`: the answer is text/event-stream (else one JSON body). `make_id` names a tool
  // call the upstream sent without an id (chat::default_tool_call_id_maker() when empty).
  explicit CompletionReader(bool event_stream, std::function<std::string()> make_id = {});

  // More of the answer, cut anywhere (even inside a line or a UTF-8 sequence). Reading stops at
  // the first error.
  void feed(std::string_view bytes, chat::EventSink& sink);
  // The body ended: ends an open tool call (complete=false unless a finish_reason closed it) and
  // sets error() when the answer stopped before its finish_reason or [DONE].
  void finish(chat::EventSink& sink);

  // Some content, reasoning or tool call has been read (the front can no longer retry elsewhere).
  bool began() const { return began_; }
  // A finish_reason or [DONE] was read, or the whole body.
  bool finished() const { return finished_; }
  // The stream's [DONE] was read: nothing more belongs to the answer.
  bool saw_done() const { return done_; }
  // stop→kEndTurn, length→kMaxTokens, tool_calls/function_call→kToolUse, content_filter→kEndTurn;
  // absent until known.
  std::optional<api::StopReason> stop_reason() const { return stop_reason_; }

  struct Usage {
    std::int64_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
  };
  // From the usage chunk (the last one that carried usage) or the body.
  std::optional<Usage> usage() const { return usage_; }
  // An error object in the answer, a malformed chunk or body (502), or an answer cut short (502).
  const std::optional<api::ApiError>& error() const { return error_; }

 private:
  struct ToolCall {
    std::int64_t index = -1;
    std::string id, name;
    std::string arguments;  // all of them: checked for a JSON object at the end
    bool started = false;   // its start event was sent (it needs a name first)
  };

  void read_line(std::string_view line, chat::EventSink& sink);
  void dispatch(chat::EventSink& sink);
  void read_chunk(std::string_view data, chat::EventSink& sink);
  void read_body(chat::EventSink& sink);
  bool read_error_object(const nlohmann::ordered_json& object);
  void read_usage(const nlohmann::ordered_json& object);
  void read_finish(const nlohmann::ordered_json& choice, chat::EventSink& sink);
  void read_delta(const nlohmann::ordered_json& delta, chat::EventSink& sink);
  bool read_tool_call(const nlohmann::ordered_json& call, chat::EventSink& sink);
  void text(std::string_view delta, bool reasoning, chat::EventSink& sink);
  void start_call(chat::EventSink& sink);
  void end_call(bool complete, chat::EventSink& sink);
  void malformed(const std::string& what);

  bool event_stream_;
  std::function<std::string()> make_id_;
  std::string pending_;  // an unfinished line (stream) or the body so far
  std::string data_;     // the data lines of the SSE event being read
  bool has_data_ = false;
  std::optional<ToolCall> call_;
  std::int64_t calls_ = 0;  // tool calls started
  bool began_ = false, finished_ = false, done_ = false;
  std::optional<api::StopReason> stop_reason_;
  std::optional<Usage> usage_;
  std::optional<api::ApiError> error_;
};

}  // namespace pensieve::upstream
