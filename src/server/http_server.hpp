// server/http_server: the HTTP front of pensieve (cpp-httplib). It authenticates, stamps a
// request-id on every response, enforces the body limit, moves bytes between sockets and the
// API service — whole JSON bodies or SSE frames with pings — and notices clients that leave.
// Routes ignore the query string (`/v1/messages?beta=true` is `/v1/messages`).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/messages_service.hpp"
#include "core/result.hpp"

namespace pensieve::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 7777;  // 0 picks a free port (see HttpServer::port())
  std::vector<std::string> api_keys;
  bool insecure = false;
  std::size_t max_body_bytes = 32u << 20;
  std::chrono::seconds read_timeout{60};
  std::chrono::seconds write_timeout{60};
  std::chrono::seconds keep_alive_timeout{60};
  std::size_t http_threads = 64;  // each open connection holds one while it lives
  std::chrono::milliseconds ping_interval{2000};
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// What other modules add to the server; all optional.
struct ServerHooks {
  // Added to every response; `details` false on a refusal for a missing or wrong key, which is
  // told the memory tier but no figures.
  std::function<HeaderList(bool details)> response_headers;
  // GET /health; `details` false for a caller without the key (when keys are set): then the
  // reply says only whether the server takes work and its memory tier.
  std::function<api::Reply(bool details)> health;
  std::function<std::string()> metrics;          // GET /metrics (Prometheus text)
  // Asked before a generation's body is read: a refusal that needs nothing from the request (the
  // memory guard at critical) costs neither the upload nor the parsing.
  std::function<std::optional<api::ApiError>()> refuse_before_reading;
  std::function<void(const std::string&)> log;   // one line per request; default: stderr
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, api::MessagesService& service, ServerHooks hooks = {});
  ~HttpServer();

  // Checks the bind policy and binds the socket.
  Status bind();
  int port() const;
  // Serves until stop(); returns at once when bind() failed.
  void serve();
  // New generations are refused with 503 from now on; requests under way continue.
  void begin_drain();
  // Generations (streaming or not) whose response is still being written.
  std::size_t in_flight() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pensieve::server
