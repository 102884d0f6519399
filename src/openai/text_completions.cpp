#include "openai/text_completions.hpp"

#include "api/message_builder.hpp"
#include "openai/answer_format.hpp"
#include "openai/completion_encoder.hpp"
#include "openai/text_completion_encoder.hpp"
#include "openai/text_completion_request.hpp"

namespace pensieve::openai {

api::AnswerFormat text_completion_format(bool include_usage, bool echo) {
  return openai_answer_format(
      [include_usage, echo](const api::MessagesRequest& request, std::int64_t prompt_tokens) {
        TextCompletionEncoder::Options o;
        o.id = api::random_id("cmpl-");
        o.model = request.model;
        o.created = unix_seconds_now();
        o.prompt_tokens = prompt_tokens;
        o.streaming = request.stream;
        o.include_usage = include_usage;
        if (echo && request.raw_prompt) o.echo = *request.raw_prompt;
        return std::make_unique<TextCompletionEncoder>(std::move(o));
      });
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
