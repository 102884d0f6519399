// openai/text_completion_request: a POST /v1/completions body (OpenAI's legacy text
// completions, which autocomplete plugins and text-completion front ends still use) read into
// the server's one typed request: the prompt goes in raw_prompt, to be continued as it is, with
// no chat template. One prompt, one choice; FIM (`suffix`) and prompts of token ids are refused
// by name.
#pragma once

#include <optional>
#include <string_view>

#include "api/error.hpp"
#include "api/messages_request.hpp"

namespace pensieve::openai {

// OpenAI's default max_tokens for a text completion.
inline constexpr std::int64_t kTextCompletionMaxTokens = 16;

struct TextCompletionRequest {
  api::MessagesRequest request;  // raw_prompt set, the conversation empty
  bool include_usage = false;    // stream_options.include_usage
  bool echo = false;             // the answer's text starts with the prompt
};

struct ParsedTextCompletionRequest {
  std::optional<TextCompletionRequest> completion;
  std::optional<api::ApiError> error;
};

ParsedTextCompletionRequest parse_text_completion_request(std::string_view body);

}  // namespace pensieve::openai
