#include "api/messages_service.hpp"

#include <cstdint>
#include <variant>

namespace pensieve::api {

std::optional<ApiError> check_context(std::int64_t prompt_tokens, std::int64_t max_tokens, std::int64_t context_length) {
  if (auto e = check_prompt_length(prompt_tokens, context_length, false)) return e;
  if (prompt_tokens + max_tokens > context_length) {
    return invalid_request("input length and `max_tokens` exceed context limit: " + std::to_string(prompt_tokens) +
                           " + " + std::to_string(max_tokens) + " > " + std::to_string(context_length) +
                           ", decrease input length or `max_tokens` and try again");
  }
  return std::nullopt;
}

std::optional<ApiError> check_prompt_length(std::int64_t prompt_tokens, std::int64_t context_length,
                                            bool at_least) {
  // One position must stay free for the first generated token.
  if (prompt_tokens < context_length) return std::nullopt;
  return invalid_request("prompt is too long: " + std::string(at_least ? "at least " : "") +
                         std::to_string(prompt_tokens) + " tokens > " + std::to_string(context_length - 1) +
                         " maximum");
}

namespace {

// Bytes of the users' text, which every template writes into the prompt as it is (and of a text
// completion's prompt, which is the prompt).
std::size_t user_text_bytes(const MessagesRequest& request) {
  std::size_t bytes = request.raw_prompt ? request.raw_prompt->size() : 0;
  for (const auto& message : request.conversation.messages) {
    if (message.role != chat::Role::kUser) continue;
    for (const auto& block : message.content.blocks) {
      if (const auto* text = std::get_if<chat::TextBlock>(&block)) bytes += text->text.size();
    }
  }
  return bytes;
}

}  // namespace

MessagesService::MessagesService(Frontend& frontend, engine::Scheduler& scheduler, ModelInfo model)
    : frontend_(frontend), scheduler_(scheduler), model_(std::move(model)) {}

std::size_t MessagesService::context_length() const {
  return scheduler_.context_length();
}

std::size_t MessagesService::largest_useful_body() const {
  constexpr std::size_t kJsonBytesPerByte = 6;
  constexpr std::size_t kSlack = 1u << 20;
  const std::size_t longest = frontend_.longest_token_bytes();
  if (longest == 0) return SIZE_MAX;
  const std::size_t text = context_length() * longest;
  if (text > (SIZE_MAX - kSlack) / kJsonBytesPerByte) return SIZE_MAX;
  return text * kJsonBytesPerByte + kSlack;
}

Reply MessagesService::error_reply(const ApiError& error, const std::string& request_id) const {
  return {error.http_status, error_body(error, request_id)};
}

MessagesService::Started MessagesService::create(std::string body, const std::string& request_id) {
  auto parsed = parse_messages_request(std::string_view(body), RequestKind::kCreate);
  std::string().swap(body);
  if (parsed.error) return {error_reply(*parsed.error, request_id), nullptr};
  return start(*parsed.request, request_id, anthropic_format());
}

MessagesService::Started MessagesService::start(const MessagesRequest& request, const std::string& request_id,
                                                const AnswerFormat& format) {
  const auto refuse = [&](const ApiError& e) -> Started {
    return {Reply{e.http_status, format.error_body(e, request_id)}, nullptr};
  };
  const auto context_length = static_cast<std::int64_t>(scheduler_.context_length());

  // Before the prompt is built: a floor on its tokens from the users' text, against the context,
  // so that a request far too long costs neither the memory nor the time of rendering and
  // tokenizing it. (Only the prompt's own length: clients such as Claude Code read the numbers of
  // the max_tokens message to retry with less, and those must be exact.)
  if (const std::size_t longest = frontend_.longest_token_bytes(); longest > 0) {
    const auto at_least = static_cast<std::int64_t>(user_text_bytes(request) / longest);
    if (auto e = check_prompt_length(at_least, context_length, true)) return refuse(*e);
  }

  auto prompt = frontend_.prompt(request);
  if (!prompt) return refuse(from_error(prompt.error()));
  const auto n_prompt = static_cast<std::int64_t>(prompt->tokens.size());
  // No max_tokens (OpenAI's default): whatever the context leaves after the prompt.
  const std::int64_t max_tokens = request.max_tokens > 0 ? request.max_tokens : context_length - n_prompt;
  if (auto e = check_context(n_prompt, max_tokens, context_length)) return refuse(*e);
  if (admission_) {
    if (auto e = admission_(n_prompt, max_tokens)) return refuse(*e);
  }

  engine::GenerationRequest gen;
  gen.prompt = prompt->tokens;
  gen.max_tokens = max_tokens;
  gen.end_tokens = frontend_.end_tokens();
  gen.label = request_id;
  gen.sampling.temperature = static_cast<float>(request.temperature.value_or(1.0));
  if (request.top_p) gen.sampling.top_p = static_cast<float>(*request.top_p);
  if (request.top_k) gen.sampling.top_k = static_cast<std::int32_t>(*request.top_k);
  if (gen.sampling.top_p <= 0.0f) gen.sampling.temperature = 0.0f;  // top_p 0 keeps only the best token
  gen.sampling.seed = request.seed;
  if (request.presence_penalty) gen.sampling.presence_penalty = static_cast<float>(*request.presence_penalty);
  if (request.frequency_penalty)
    gen.sampling.frequency_penalty = static_cast<float>(*request.frequency_penalty);
  if (request.min_p) gen.sampling.min_p = static_cast<float>(*request.min_p);
  if (request.repetition_penalty)
    gen.sampling.repetition_penalty = static_cast<float>(*request.repetition_penalty);

  gen.constraint = frontend_.constraint(*prompt);
  auto stream = std::make_shared<ResponseStream>(request, frontend_, *prompt, request_id, format);
  auto job = scheduler_.submit(std::move(gen), stream->queue());
  if (!job) {
    if (job.error().code == ErrorCode::kResourceExhausted)
      return refuse(overloaded("Overloaded: " + job.error().message));
    return refuse(from_error(job.error()));
  }
  stream->attach(std::move(*job));
  return {std::nullopt, std::move(stream)};
}

Reply MessagesService::count_tokens(std::string_view body, const std::string& request_id) {
  auto parsed = parse_messages_request(body, RequestKind::kCountTokens);
  if (parsed.error) return error_reply(*parsed.error, request_id);
  auto prompt = frontend_.prompt(*parsed.request);
  if (!prompt) return error_reply(from_error(prompt.error()), request_id);
  return {200, nlohmann::ordered_json{{"input_tokens", prompt->tokens.size()}}.dump()};
}

Reply MessagesService::list_models() const { return {200, model_list(model_).dump()}; }

Reply MessagesService::get_model(std::string_view id) const { return {200, model_object(model_, id).dump()}; }

}  // namespace pensieve::api
