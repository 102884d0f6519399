#include "openai/chat_completions.hpp"

#include "api/message_builder.hpp"
#include "openai/answer_format.hpp"
#include "openai/chat_request.hpp"
#include "openai/completion_encoder.hpp"

namespace pensieve::openai {

api::AnswerFormat chat_completion_format(bool include_usage) {
  return openai_answer_format(
      [include_usage](const api::MessagesRequest& request, std::int64_t prompt_tokens) {
        CompletionEncoder::Options o;
        o.id = api::random_id("chatcmpl-");
        o.model = request.model;
        o.created = unix_seconds_now();
        o.prompt_tokens = prompt_tokens;
        o.streaming = request.stream;
        o.include_usage = include_usage;
        return std::make_unique<CompletionEncoder>(std::move(o));
      });
}

api::MessagesService::Started create_chat_completion(api::MessagesService& service, std::string body,
                                                     const std::string& request_id) {
  auto parsed = parse_chat_request(body);
  std::string().swap(body);
  if (parsed.error) return {api::Reply{parsed.error->http_status, error_body(*parsed.error)}, nullptr};
  return service.start(parsed.chat->request, request_id, chat_completion_format(parsed.chat->include_usage));
}

}  // namespace pensieve::openai
