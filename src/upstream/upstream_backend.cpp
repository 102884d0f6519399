#include "upstream/upstream_backend.hpp"

#include "api/error.hpp"
#include "api/messages_request.hpp"
#include "core/hash.hpp"
#include "openai/chat_completions.hpp"
#include "openai/chat_request.hpp"
#include "openai/completion_encoder.hpp"
#include "openai/text_completion_request.hpp"
#include "openai/text_completions.hpp"
#include "upstream/chat_body.hpp"
#include "upstream/forwarded_answer.hpp"

namespace pensieve::upstream {

std::uint64_t prefix_key(const nlohmann::ordered_json& chat_body) {
  nlohmann::ordered_json prefix = nlohmann::ordered_json::array();
  if (chat_body.contains("tools")) prefix.push_back(chat_body["tools"]);
  if (chat_body.contains("messages") && chat_body["messages"].is_array()) {
    for (const auto& message : chat_body["messages"]) {
      prefix.push_back(message);
      if (message.value("role", "") == "user") break;
    }
  }
  const std::string text = prefix.dump();
  return core::hash64({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

namespace {
// How much of a text completion's prompt decides its upstream.
constexpr std::size_t kTextPrefixBytes = 4096;
}  // namespace

std::int64_t estimate_tokens(std::size_t bytes) {
  return static_cast<std::int64_t>((bytes + 3) / 4);
}

UpstreamBackend::UpstreamBackend(UpstreamBackendOptions options, UpstreamPool& pool, HttpClient& client)
    : options_(std::move(options)), pool_(pool), client_(client) {}

api::Started UpstreamBackend::forward(const api::MessagesRequest& request, const nlohmann::ordered_json& body,
                                      std::uint64_t key, std::string path, const std::string& request_id,
                                      const api::AnswerFormat& format) {
  ForwardSetup setup;
  setup.request = request;
  setup.format = format;
  setup.request_id = request_id;
  setup.path = std::move(path);
  setup.body = body.dump();
  setup.prefix_key = key;
  setup.estimated_prompt_tokens = estimate_tokens(setup.body.size());
  if (!options_.key.empty()) {
    setup.headers.emplace_back("authorization", "Bearer " + options_.key);
    setup.headers.emplace_back("x-api-key", options_.key);
  }
  setup.connect_timeout = options_.connect_timeout;
  struct Opening {
    std::atomic<std::size_t>& count;
    explicit Opening(std::atomic<std::size_t>& c) : count(c) { ++count; }
    ~Opening() { --count; }
  } counted(opening_);
  return ForwardedAnswer::open(std::move(setup), pool_, client_);
}

api::Started UpstreamBackend::messages(std::string body, const std::string& request_id) {
  auto parsed = api::parse_messages_request(std::string_view(body), api::RequestKind::kCreate);
  std::string().swap(body);
  if (parsed.error)
    return {api::Reply{parsed.error->http_status, api::error_body(*parsed.error, request_id)}, nullptr};
  return forward_chat(*parsed.request, request_id, api::anthropic_format());
}

api::Started UpstreamBackend::forward_chat(const api::MessagesRequest& request, const std::string& request_id,
                                           const api::AnswerFormat& format) {
  if (auto refused = check_forwardable(request))
    return {api::Reply{refused->http_status, format.error_body(*refused, request_id)}, nullptr};
  const auto body = chat_completion_body(request, options_.upstream_model);
  return forward(request, body, prefix_key(body), "/chat/completions", request_id, format);
}

api::Started UpstreamBackend::chat_completions(std::string body, const std::string& request_id) {
  auto parsed = openai::parse_chat_request(body);
  std::string().swap(body);
  if (parsed.error)
    return {api::Reply{parsed.error->http_status, openai::error_body(*parsed.error)}, nullptr};
  return forward_chat(parsed.chat->request, request_id,
                      openai::chat_completion_format(parsed.chat->include_usage));
}

api::Started UpstreamBackend::completions(std::string body, const std::string& request_id) {
  auto parsed = openai::parse_text_completion_request(body);
  std::string().swap(body);
  if (parsed.error)
    return {api::Reply{parsed.error->http_status, openai::error_body(*parsed.error)}, nullptr};
  const auto& request = parsed.completion->request;
  const auto upstream_body = text_completion_body(request, options_.upstream_model);
  // Completions of one document share its beginning: that keeps them on one upstream.
  const std::string_view prompt = *request.raw_prompt;
  const auto head = prompt.substr(0, std::min<std::size_t>(prompt.size(), kTextPrefixBytes));
  const std::uint64_t key = core::hash64({reinterpret_cast<const std::uint8_t*>(head.data()), head.size()});
  return forward(request, upstream_body, key, "/completions", request_id,
                 openai::text_completion_format(parsed.completion->include_usage, parsed.completion->echo));
}

api::Reply UpstreamBackend::count_tokens(std::string_view body, const std::string& request_id) {
  auto parsed = api::parse_messages_request(body, api::RequestKind::kCountTokens);
  if (parsed.error) return {parsed.error->http_status, api::error_body(*parsed.error, request_id)};
  // The upstream's tokenizer is not here: an estimate from the text the upstream would be sent.
  const auto text = chat_completion_body(*parsed.request, options_.upstream_model).dump();
  return {200, nlohmann::ordered_json{{"input_tokens", estimate_tokens(text.size())}}.dump()};
}

api::Reply UpstreamBackend::list_models() const {
  return {200, api::model_list(options_.model).dump()};
}

api::Reply UpstreamBackend::get_model(std::string_view id) const {
  return {200, api::model_object(options_.model, id).dump()};
}

std::string UpstreamBackend::body_limit_reason(std::size_t limit) const {
  return "request exceeds " + std::to_string(limit) + " bytes";
}

}  // namespace pensieve::upstream
