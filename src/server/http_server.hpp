// server/http_server: the HTTP front of pensieve (Boost.Beast over Asio). A few I/O threads
// serve every connection without blocking, so idle or slow clients cost a socket and a buffer,
// never a thread; work that takes time (parsing, prompts) runs on a small pool of workers. It
// stamps a request-id on every response, enforces the body limit before a body is kept, moves
// bytes between sockets and the API service — whole JSON bodies or SSE frames with pings — and
// notices clients that leave. What is answered to which path is server/routes'.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/api_backend.hpp"
#include "api/messages_service.hpp"
#include "core/result.hpp"

namespace pensieve::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 7777;  // 0 picks a free port (see HttpServer::port())
  std::vector<std::string> api_keys;
  bool insecure = false;
  std::size_t max_body_bytes = 32u << 20;
  std::chrono::seconds read_timeout{60};        // a request's header, and each wait for its body
  std::chrono::seconds write_timeout{60};       // each write of a response
  std::chrono::seconds keep_alive_timeout{60};  // idle between requests
  std::size_t io_threads = 2;
  std::size_t worker_threads = 4;
  // At a cap the connection idle longest makes room; with none idle the newcomer is closed.
  std::size_t max_connections = 4096;  // also kept under the process's file limit
  std::size_t max_connections_per_client = 256;
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
  // Asked before a generation's body is read, with its declared size (0 when sent in chunks): a
  // refusal then (the memory guard at critical, or a body too costly for the memory left) costs
  // neither the upload nor the parsing.
  std::function<std::optional<api::ApiError>(std::uint64_t body_bytes)> refuse_before_reading;
  std::function<void(const std::string&)> log;   // one line per request; default: stderr
};

class HttpServer {
 public:
  // On the local engine.
  HttpServer(ServerOptions options, api::MessagesService& service, ServerHooks hooks = {});
  // On any backend (upstream mode); it must outlive the server.
  HttpServer(ServerOptions options, api::ApiBackend& backend, ServerHooks hooks = {});
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
  // Connections open now, and those closed so far to make room for new ones.
  std::size_t connections() const;
  std::size_t connections_evicted() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pensieve::server
