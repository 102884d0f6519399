// openai/text_completions: POST /v1/completions on the server's one request path — the body read
// into the typed request (its prompt raw, no chat template), answered through the same service as
// /v1/messages and /v1/chat/completions, in the `text_completion` shape.
#pragma once

#include <string>

#include "api/messages_service.hpp"

namespace pensieve::openai {

api::MessagesService::Started create_text_completion(api::MessagesService& service, std::string body,
                                                     const std::string& request_id);

// The answer format of a text completion: `include_usage` adds the usage chunk to a stream;
// `echo` starts the text with the prompt.
api::AnswerFormat text_completion_format(bool include_usage, bool echo);

}  // namespace pensieve::openai
