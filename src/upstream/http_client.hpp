// upstream/http_client: HTTP/1.1 to upstreams over plain TCP (Boost.Beast on Asio), streaming a
// response's body to the caller as it arrives — SSE included — for the request path, and short
// bounded GETs for the health monitor.
//
// A few I/O threads of its own carry every exchange: a slow upstream costs a socket and a buffer,
// never a thread. One connection per exchange (`connection: close`), so an exchange's failure
// is its own and no pooled connection can be half-read. Handlers run on those threads and must be
// short: buffer and wake your own reader.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "upstream/upstream_url.hpp"

namespace pensieve::upstream {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  explicit HttpClient(std::size_t threads = 2);
  ~HttpClient();  // cancels what is in flight (each on_end runs), then stops and joins
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  struct Request {
    std::string method = "POST";
    std::string target;  // e.g. url.chat_completions_target()
    std::string body;    // sent with content-length; content-type defaults to application/json
    HeaderList headers;  // added as given; host, user-agent and connection are set here
    std::chrono::milliseconds connect_timeout{3000};  // name lookup and TCP connect
    std::chrono::milliseconds idle_timeout{600000};   // the request's write, and each wait for bytes
    std::chrono::milliseconds deadline{0};            // the whole exchange; 0: none
    std::size_t max_response_bytes = 256u << 20;      // of the body; past it the exchange fails
  };

  struct Handlers {
    // The status and the headers (names lower-case), once, before any body bytes.
    std::function<void(int status, const HeaderList& headers)> on_head;
    // Body bytes as they arrive, chunked transfer decoding done.
    std::function<void(std::string_view bytes)> on_data;
    // Exactly once, last. `error` nullopt: the whole response arrived. `reached` false: not one
    // byte of a response came (no connection, or it failed or closed before answering), so the
    // request can go to another upstream; true: something came, and a retry would repeat it.
    std::function<void(std::optional<std::string> error, bool reached)> on_end;
  };

  class Exchange {
   public:
    virtual ~Exchange() = default;
    // Thread-safe and idempotent; unless the exchange already ended, on_end follows promptly with
    // an error ("cancelled").
    virtual void cancel() = 0;
  };

  // Starts an exchange. The handle may be dropped (the exchange goes on) or kept past the end
  // of the exchange, or of the client (cancel() then does nothing).
  std::shared_ptr<Exchange> start(const UpstreamUrl& upstream, Request request, Handlers handlers);

  // A short GET (health, metrics): its status and body (at most kMaxGetBytes), or kIo when no
  // whole answer came within `timeout`. get() blocks: never call it from a handler.
  struct Got {
    int status = 0;
    std::string body;
  };
  static constexpr std::size_t kMaxGetBytes = 4u << 20;
  struct PendingGet {
    std::shared_ptr<Exchange> exchange;  // to cancel it
    std::future<Result<Got>> result;
  };
  PendingGet get_async(const UpstreamUrl& upstream, std::string target, std::chrono::milliseconds timeout,
                       HeaderList headers = {});
  Result<Got> get(const UpstreamUrl& upstream, std::string target, std::chrono::milliseconds timeout,
                  HeaderList headers = {});

 private:
  struct Io;
  std::unique_ptr<Io> io_;
  std::vector<std::thread> threads_;
};

}  // namespace pensieve::upstream
