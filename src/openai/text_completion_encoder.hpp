// openai/text_completion_encoder: an answer as OpenAI's legacy completions API returns it — the
// `text_completion` object, or streamed frames of the same shape carrying pieces of the text
// ("data: {...}" then "data: [DONE]"), with usage (in a last chunk when
// stream_options.include_usage asks). The output of a raw prompt is all text; events of any other
// kind cannot come and are not written.
#pragma once

#include <cstdint>
#include <string>

#include "api/answer_encoder.hpp"

namespace pensieve::openai {

class TextCompletionEncoder final : public api::AnswerEncoder {
 public:
  struct Options {
    std::string id;  // "cmpl-…"
    std::string model;
    std::int64_t created = 0;  // Unix seconds
    std::int64_t prompt_tokens = 0;
    bool streaming = false;
    bool include_usage = false;
    std::string echo;  // echo: the prompt, which the text starts with
  };
  explicit TextCompletionEncoder(Options options);

  void prompt_cache(std::int64_t read, std::int64_t written) override;
  void prompt_tokens(std::int64_t total) override { options_.prompt_tokens = total; }
  void start(std::string& out) override;
  void event(const chat::ChatEvent& event, std::string& out) override;
  void end(api::StopReason reason, std::optional<std::string> stop_sequence, std::int64_t output_tokens,
           std::string& out) override;
  void fail(const api::ApiError& error, std::string& out) override;

 private:
  // "data: {"id":…,"object":"text_completion","created":…,"model":…" — the start of every chunk.
  void chunk_head(std::string& out) const;
  // One streamed chunk with a piece of the text, and the finish reason on the last.
  void chunk(std::string_view text, const char* finish_reason, std::string& out) const;

  Options options_;
  std::int64_t cached_tokens_ = 0;
  std::string text_;  // not streaming: the whole answer
};

}  // namespace pensieve::openai
