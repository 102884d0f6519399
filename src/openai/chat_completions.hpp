// openai/chat_completions: POST /v1/chat/completions on the server's one request path — the body
// read into the typed request, answered through the same service as /v1/messages, in OpenAI's
// shapes (CompletionEncoder, OpenAI's error envelope, SSE comments as pings).
#pragma once

#include <string>

#include "api/messages_service.hpp"

namespace pensieve::openai {

api::MessagesService::Started create_chat_completion(api::MessagesService& service, std::string body,
                                                     const std::string& request_id);

// The answer format of a chat completion: `include_usage` adds the usage chunk to a stream.
api::AnswerFormat chat_completion_format(bool include_usage);

}  // namespace pensieve::openai
