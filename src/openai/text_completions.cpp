#include "openai/text_completions.hpp"

#include <chrono>

#include "api/message_builder.hpp"
#include "openai/completion_encoder.hpp"
#include "openai/text_completion_encoder.hpp"
#include "openai/text_completion_request.hpp"

namespace pensieve::openai {

api::AnswerFormat text_completion_format(bool include_usage, bool echo) {
  api::AnswerFormat f;
  f.encoder = [include_usage, echo](const api::MessagesRequest& request, std::int64_t prompt_tokens,
                                    const std::string& /*request_id*/) {
    TextCompletionEncoder::Options o;
    o.id = api::random_id("cmpl-");
    o.model = request.model;
    o.created =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    o.prompt_tokens = prompt_tokens;
    o.streaming = request.stream;
    o.include_usage = include_usage;
    if (echo && request.raw_prompt) o.echo = *request.raw_prompt;
    return std::make_unique<TextCompletionEncoder>(std::move(o));
  };
  f.error_body = [](const api::ApiError& error, const std::string& /*request_id*/) {
    return error_body(error);
  };
  // A comment line: SSE readers skip it, and it keeps proxies from timing out a long prompt.
  f.ping = ": ping\n\n";
  return f;
}

api::MessagesService::Started create_text_completion(api::MessagesService& service, std::string body,
                                                     const std::string& request_id) {
  auto parsed = parse_text_completion_request(body);
  std::string().swap(body);
  if (parsed.error) return {api::Reply{parsed.error->http_status, error_body(*parsed.error)}, nullptr};
  const TextCompletionRequest& c = *parsed.completion;
  return service.start(c.request, request_id, text_completion_format(c.include_usage, c.echo));
}

}  // namespace pensieve::openai
