// openai/completion_encoder: an answer as OpenAI's chat completions API returns it — the
// `chat.completion` object, or streamed `chat.completion.chunk` frames ("data: {...}" then
// "data: [DONE]"), with tool calls whose arguments stream as deltas, reasoning in
// `reasoning_content` (as established local servers return it) and usage with cached tokens.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/answer_encoder.hpp"

namespace pensieve::openai {

// "stop", "length", "tool_calls".
const char* finish_reason(api::StopReason reason);

// OpenAI's error envelope: {"error": {"message", "type", "param", "code"}}.
std::string error_body(const api::ApiError& error);

// OpenAI's usage object, with the prompt's cached tokens in prompt_tokens_details.
nlohmann::ordered_json usage_object(std::int64_t prompt_tokens, std::int64_t completion_tokens,
                                    std::int64_t cached_tokens);

// A JSON value as the wire carries it (invalid UTF-8 replaced, never thrown on).
std::string dumped(const nlohmann::ordered_json& value);

class CompletionEncoder final : public api::AnswerEncoder {
 public:
  struct Options {
    std::string id;  // "chatcmpl-…"
    std::string model;
    std::int64_t created = 0;  // Unix seconds
    std::int64_t prompt_tokens = 0;
    bool streaming = false;
    bool include_usage = false;  // stream_options.include_usage: a last chunk with usage
  };
  explicit CompletionEncoder(Options options);

  void prompt_cache(std::int64_t read, std::int64_t written) override;
  void prompt_tokens(std::int64_t total) override { options_.prompt_tokens = total; }
  void start(std::string& out) override;
  void event(const chat::ChatEvent& event, std::string& out) override;
  void end(api::StopReason reason, std::optional<std::string> stop_sequence, std::int64_t output_tokens,
           std::string& out) override;
  void fail(const api::ApiError& error, std::string& out) override;

 private:
  struct ToolCall {
    std::string id, name, arguments;
  };
  // "data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…" — the start of
  // every chunk.
  void chunk_head(std::string& out) const;
  // chunk_head() and ',"choices":[{"index":0,"delta":' — the delta's object follows, then
  // close_chunk().
  void open_chunk(std::string& out) const;
  void close_chunk(std::string& out, const char* finish_reason) const;

  Options options_;
  std::int64_t cached_tokens_ = 0;
  std::string content_, reasoning_;  // not streaming: the whole answer
  std::vector<ToolCall> tool_calls_;
};

}  // namespace pensieve::openai
