#include "server/routes.hpp"

#include <algorithm>

#include "api/message_builder.hpp"
#include "openai/completion_encoder.hpp"
#include "server/auth.hpp"

namespace pensieve::server {
namespace {

std::string error_message_of(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
      j["error"]["message"].is_string()) {
    return j["error"]["message"].get<std::string>();
  }
  return {};
}

bool keyed(const ServerOptions& options, const RequestHead& head) {
  return authorized(options.api_keys, presented_key(head.header("x-api-key"), head.header("authorization")));
}

Answer from_reply(const api::Reply& reply) {
  Answer a = json_answer(reply.status, reply.body);
  // Refused for load or memory (or at shutdown): like any 503 or 529, say when to come back.
  if (reply.status == 503 || reply.status == 529) a.headers.emplace_back("retry-after", "5");
  return a;
}

}  // namespace

Answer json_answer(int status, std::string body) {
  Answer a;
  a.status = status;
  if (status >= 400) a.rejection = error_message_of(body);
  a.body = std::move(body);
  return a;
}

bool openai_route(std::string_view path) {
  return path == "/v1/chat/completions" || path == "/v1/completions";
}

Answer error_answer(const api::ApiError& error, const std::string& request_id, bool openai) {
  Answer a =
      json_answer(error.http_status, openai ? openai::error_body(error) : api::error_body(error, request_id));
  a.rejection = error.message;
  if (error.http_status == 503 || error.http_status == 529) a.headers.emplace_back("retry-after", "5");
  return a;
}

Routes::Routes(const ServerOptions& options, api::ApiBackend& backend, const ServerHooks& hooks,
               const std::atomic<bool>& draining)
    : options_(options),
      backend_(backend),
      hooks_(hooks),
      draining_(draining),
      body_limit_(std::min(options.max_body_bytes, backend.largest_useful_body())) {}

std::size_t Routes::body_limit() const {
  return body_limit_;
}

api::ApiError Routes::body_too_large() const {
  if (body_limit_ == options_.max_body_bytes) return api::request_too_large();
  return api::request_too_large(backend_.body_limit_reason(body_limit_));
}

HeaderList Routes::common_headers(bool details) const {
  return hooks_.response_headers ? hooks_.response_headers(details) : HeaderList{};
}

std::optional<Answer> Routes::before_body(const RequestHead& head) const {
  const bool openai = openai_route(head.path);
  // Liveness probes answer without a key so supervisors need no secret.
  const bool open_route = head.path == "/" || head.path == "/api/hello" || head.path == "/health";
  if (!open_route && !keyed(options_, head))
    return error_answer(api::authentication_failed("invalid x-api-key"), head.id, openai);
  if (head.method == "GET" || head.method == "HEAD") {
    if (auto a = get(head)) return a;
    return error_answer(api::not_found(), head.id);
  }
  if (head.method != "POST" ||
      (head.path != "/v1/messages" && head.path != "/v1/messages/count_tokens" && !openai))
    return error_answer(api::not_found(), head.id, openai);
  if (head.path == "/v1/messages" || openai) {
    if (draining_) return error_answer(api::shutting_down(), head.id, openai);
    if (hooks_.refuse_before_reading) {
      if (const auto e = hooks_.refuse_before_reading(head.content_length)) {
        Answer a = error_answer(*e, head.id, openai);
        a.close = true;  // the body stays unread
        return a;
      }
    }
  }
  return std::nullopt;
}

std::optional<Answer> Routes::get(const RequestHead& head) const {
  const std::string& path = head.path;
  if (path == "/" || path == "/api/hello") return json_answer(200, R"({"status":"ok"})");
  if (path == "/health") {
    if (hooks_.health) {
      // Open for liveness probes; what is loaded and how memory stands only for keyholders.
      const auto r = hooks_.health(keyed(options_, head));
      return json_answer(r.status, r.body);
    }
    nlohmann::ordered_json body{{"status", "ok"}, {"model", {{"id", backend_.model_id()}}}};
    return json_answer(200, body.dump());
  }
  if (path == "/metrics") {
    Answer a = json_answer(200, hooks_.metrics ? hooks_.metrics() : std::string());
    a.content_type = "text/plain; version=0.0.4";
    return a;
  }
  if (path == "/v1/models") return from_reply(backend_.list_models());
  constexpr std::string_view kModel = "/v1/models/";
  if (path.size() > kModel.size() && path.rfind(kModel, 0) == 0 &&
      path.find('/', kModel.size()) == std::string::npos) {
    return from_reply(backend_.get_model(std::string_view(path).substr(kModel.size())));
  }
  return std::nullopt;
}

Routes::Outcome Routes::handle(const RequestHead& head, std::string body) const {
  if (head.path == "/v1/messages/count_tokens")
    return {from_reply(backend_.count_tokens(body, head.id)), nullptr};
  const bool openai = openai_route(head.path);
  if (draining_) return {error_answer(api::shutting_down(), head.id, openai), nullptr};
  auto started = head.path == "/v1/completions" ? backend_.completions(std::move(body), head.id)
                 : openai                       ? backend_.chat_completions(std::move(body), head.id)
                                                : backend_.messages(std::move(body), head.id);
  if (started.reply) return {from_reply(*started.reply), nullptr};
  return {std::nullopt, std::move(started.stream)};
}

}  // namespace pensieve::server
