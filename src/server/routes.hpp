// server/routes: what pensieve answers to each method and path, without the sockets — auth, the
// checks that come before a body is read, and the handlers. A handler either answers at once or
// starts a generation, whose bytes the connection then carries. Routes ignore the query string
// (`/v1/messages?beta=true` is `/v1/messages`).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/api_backend.hpp"
#include "server/http_server.hpp"

namespace pensieve::server {

struct RequestHead {
  std::string method;                                        // "GET", "HEAD", "POST", …
  std::string path;                                          // without the query
  std::string id;                                            // request-id, stamped on the answer
  std::uint64_t content_length = 0;                          // declared; 0 when absent or sent in chunks
  std::function<std::string(std::string_view name)> header;  // "" when absent
};

// An answer written whole: a JSON body (or Prometheus text) and its status.
struct Answer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  HeaderList headers;
  std::string rejection;  // the error message, for the request log
  bool close = false;     // the connection ends after it (its body was left unread)
};

Answer json_answer(int status, std::string body);
// In OpenAI's envelope on OpenAI's routes, Anthropic's elsewhere.
Answer error_answer(const api::ApiError& error, const std::string& request_id, bool openai = false);
// POST /v1/chat/completions.
bool openai_route(std::string_view path);

class Routes {
 public:
  Routes(const ServerOptions& options, api::ApiBackend& backend, const ServerHooks& hooks,
         const std::atomic<bool>& draining);

  // The answer that needs no body (GETs, refusals: a wrong key, an unknown route, a memory
  // emergency), or nullopt when the route reads the body and goes on in handle().
  std::optional<Answer> before_body(const RequestHead& head) const;
  // The most body bytes the route takes: the server's limit, or less when the model's context
  // could not hold a prompt that large; and the refusal past it.
  std::size_t body_limit() const;
  api::ApiError body_too_large() const;

  struct Outcome {
    std::optional<Answer> answer;
    std::shared_ptr<api::Generation> generation;
  };
  // The route with its body: parsing, prompts, admission. May take a while (a long prompt is
  // tokenized here): call it off the I/O threads.
  Outcome handle(const RequestHead& head, std::string body) const;

  // Headers every answer carries besides its own; `details` false on a refusal for a key.
  HeaderList common_headers(bool details) const;

 private:
  std::optional<Answer> get(const RequestHead& head) const;

  const ServerOptions& options_;
  api::ApiBackend& backend_;
  const ServerHooks& hooks_;
  const std::atomic<bool>& draining_;
  std::size_t body_limit_;
};

}  // namespace pensieve::server
