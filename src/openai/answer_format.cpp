#include "openai/answer_format.hpp"

#include <chrono>

#include "api/json_text.hpp"
#include "openai/completion_encoder.hpp"

namespace pensieve::openai {

api::AnswerFormat openai_answer_format(std::function<std::unique_ptr<api::AnswerEncoder>(
                                           const api::MessagesRequest& request, std::int64_t prompt_tokens)>
                                           encoder) {
  api::AnswerFormat f;
  f.encoder = [encoder = std::move(encoder)](const api::MessagesRequest& request, std::int64_t prompt_tokens,
                                             const std::string& /*request_id*/) {
    return encoder(request, prompt_tokens);
  };
  f.error_body = [](const api::ApiError& error, const std::string& /*request_id*/) {
    return error_body(error);
  };
  // A comment line: SSE readers skip it, and it keeps proxies from timing out a long prompt.
  f.ping = ": ping\n\n";
  return f;
}

std::int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void append_chunk_head(std::string& out, std::string_view id, std::string_view object, std::int64_t created,
                       std::string_view model) {
  out += "data: {\"id\":";
  api::append_json_string(out, id);
  out += ",\"object\":\"";
  out += object;
  out += "\",\"created\":";
  api::append_decimal(out, static_cast<std::size_t>(created));
  out += ",\"model\":";
  api::append_json_string(out, model);
}

void append_choice_end(std::string& out, const char* finish_reason) {
  out += ",\"logprobs\":null,\"finish_reason\":";
  if (finish_reason) {
    out += '"';
    out += finish_reason;
    out += '"';
  } else {
    out += "null";
  }
  out += "}]}\n\n";
}

void append_failure(const api::ApiError& error, bool streaming, std::string& out) {
  if (!streaming) {
    out = error_body(error);
    return;
  }
  out += "data: " + error_body(error) + "\n\n";
  out += "data: [DONE]\n\n";
}

}  // namespace pensieve::openai
