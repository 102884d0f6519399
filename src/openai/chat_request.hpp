// openai/chat_request: a POST /v1/chat/completions body read into the server's one typed request
// (api::MessagesRequest with its chat::Conversation), so that the rest of the path — template,
// grammar, scheduler, output pipeline — is the Anthropic route's. Checked as it is read; an error
// names the field, in OpenAI's terms.
#pragma once

#include <optional>
#include <string_view>

#include "api/error.hpp"
#include "api/messages_request.hpp"

namespace pensieve::openai {

struct ChatRequest {
  api::MessagesRequest request;  // max_tokens 0: as many as the context leaves (OpenAI's default)
  bool include_usage = false;    // stream_options.include_usage
};

struct ParsedChatRequest {
  std::optional<ChatRequest> chat;
  std::optional<api::ApiError> error;
};

ParsedChatRequest parse_chat_request(std::string_view body);

}  // namespace pensieve::openai
