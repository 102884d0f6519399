// openai/answer_format: what OpenAI's routes share in how they answer — the error envelope, SSE
// comments as pings, the Unix time a completion is stamped with, and the head every streamed
// chunk starts with.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/answer_encoder.hpp"

namespace pensieve::openai {

// An answer format with OpenAI's error body and pings around the route's own encoder.
api::AnswerFormat openai_answer_format(std::function<std::unique_ptr<api::AnswerEncoder>(
                                           const api::MessagesRequest& request, std::int64_t prompt_tokens)>
                                           encoder);

std::int64_t unix_seconds_now();

// 'data: {"id":…,"object":…,"created":…,"model":…' — the start of every streamed chunk.
void append_chunk_head(std::string& out, std::string_view id, std::string_view object, std::int64_t created,
                       std::string_view model);

// ',"logprobs":null,"finish_reason":…}]}' and the frame's end: how every choice of a chunk closes
// (a null reason while the answer goes on).
void append_choice_end(std::string& out, const char* finish_reason);

// A failed answer: an error chunk then [DONE] (streaming), or the error envelope as the body.
void append_failure(const api::ApiError& error, bool streaming, std::string& out);

}  // namespace pensieve::openai
