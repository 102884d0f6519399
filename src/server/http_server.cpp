#include "server/http_server.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <thread>

#include "api/message_builder.hpp"
#include "engine/scheduler.hpp"
#include "server/auth.hpp"
#include "server/connection_probe.hpp"

namespace pensieve::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollWait = std::chrono::milliseconds(50);
constexpr const char* kJson = "application/json";

// The error message of the response being written on this thread, for the request log:
// httplib compresses the body (gzip, brotli) before its logger sees it. A worker thread
// handles one request at a time, from routing to logging.
thread_local std::string rejection_message;

std::string error_message_of(const std::string& body);

void send_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, kJson);
  if (status >= 400) rejection_message = error_message_of(body);
}

std::string error_message_of(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
      j["error"]["message"].is_string()) {
    return j["error"]["message"].get<std::string>();
  }
  return {};
}

// Counts a generation whose response is being written, for graceful shutdown.
class InFlight {
 public:
  explicit InFlight(std::atomic<std::size_t>& n) : n_(n) { n_.fetch_add(1); }
  ~InFlight() { n_.fetch_sub(1); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<std::size_t>& n_;
};

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  api::MessagesService& service;
  ServerHooks hooks;
  httplib::Server http;
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> in_flight{0};
  bool bound = false;
  int port = -1;
  // serve() and stop() tell each other they have begun (see stop()).
  std::atomic<bool> serving{false};
  std::atomic<bool> stop_requested{false};

  Impl(ServerOptions o, api::MessagesService& s, ServerHooks h)
      : options(std::move(o)), service(s), hooks(std::move(h)) {}

  void log(const std::string& line) {
    if (hooks.log) {
      hooks.log(line);
    } else {
      std::cerr << line << "\n";
    }
  }

  static std::string request_id(const httplib::Response& res) { return res.get_header_value("request-id"); }

  void install();
  std::optional<std::string> read_body(const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader);
  void handle_messages(const httplib::Request& req, std::string body, httplib::Response& res);
  void stream_response(const httplib::Request& req, httplib::Response& res,
                       std::shared_ptr<api::ResponseStream> stream);
  void log_generation(const std::string& id, const api::ResponseStream& stream, bool client_left);
};

void HttpServer::Impl::install() {
  const std::size_t threads = options.http_threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(options.max_body_bytes);
  http.set_read_timeout(options.read_timeout);
  http.set_write_timeout(options.write_timeout);
  http.set_keep_alive_timeout(options.keep_alive_timeout.count());
  http.set_keep_alive_max_count(100000);
  http.set_tcp_nodelay(true);

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = api::random_id("req_");
    res.set_header("request-id", id);
    rejection_message.clear();
    // Liveness probes answer without a key so supervisors need no secret.
    const bool open_route = req.path == "/" || req.path == "/api/hello" || req.path == "/health";
    if (!open_route) {
      const auto key =
          presented_key(req.get_header_value("x-api-key"), req.get_header_value("authorization"));
      if (!authorized(options.api_keys, key)) {
        const auto e = api::authentication_failed("invalid x-api-key");
        send_json(res, e.http_status, api::error_body(e, id));
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http.set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
    if (!res.has_header("request-id")) res.set_header("request-id", api::random_id("req_"));
    // The memory figures are for clients with the key, not for whoever was just refused one.
    if (hooks.response_headers) {
      for (auto& [k, v] : hooks.response_headers(res.status != 401)) res.set_header(k, v);
    }
  });

  // Statuses httplib sets itself (no route, body too large, bad request) get the envelope.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || res.is_chunked_content_provider_)
          return httplib::Server::HandlerResponse::Unhandled;
        api::ApiError e;
        if (res.status == 404) {
          e = api::not_found();
        } else if (res.status == 413) {
          e = api::request_too_large();
        } else if (res.status < 500) {
          e = api::invalid_request("the HTTP request could not be read");
          e.http_status = res.status;
        } else {
          e = api::internal_error("internal server error");
          e.http_status = res.status;
        }
        send_json(res, res.status, api::error_body(e, res.get_header_value("request-id")));
        return httplib::Server::HandlerResponse::Handled;
      }));

  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal server error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
    const auto e = api::internal_error(what);
    send_json(res, 500, api::error_body(e, res.get_header_value("request-id")));
  });

  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    std::string line = "request " + res.get_header_value("request-id") + " " + req.method + " " + req.path +
                       " " + std::to_string(res.status);
    if (res.status >= 400) line += " rejected: " + rejection_message;
    rejection_message.clear();
    log(line);
  });

  auto hello = [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, R"({"status":"ok"})");
  };
  http.Get("/", hello);
  http.Get("/api/hello", hello);

  http.Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
    if (hooks.health) {
      // Open for liveness probes; what is loaded and how memory stands only for keyholders.
      const bool details = authorized(options.api_keys, presented_key(req.get_header_value("x-api-key"),
                                                                      req.get_header_value("authorization")));
      const auto r = hooks.health(details);
      send_json(res, r.status, r.body);
      return;
    }
    nlohmann::ordered_json body{{"status", "ok"}, {"model", {{"id", service.model().id}}}};
    send_json(res, 200, body.dump());
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(hooks.metrics ? hooks.metrics() : std::string(), "text/plain; version=0.0.4");
  });

  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const auto r = service.list_models();
    send_json(res, r.status, r.body);
  });
  http.Get(R"(/v1/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const auto r = service.get_model(req.matches[1].str());
    send_json(res, r.status, r.body);
  });
  // Bodies are read here, not by httplib, so the size limit holds for chunked uploads too.
  http.Post("/v1/messages/count_tokens", [this](const httplib::Request& req, httplib::Response& res,
                                                const httplib::ContentReader& reader) {
    const auto body = read_body(req, res, reader);
    if (!body) return;
    const auto r = service.count_tokens(*body, request_id(res));
    send_json(res, r.status, r.body);
  });
  http.Post("/v1/messages", [this](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader) {
    if (hooks.refuse_before_reading) {
      if (const auto e = hooks.refuse_before_reading()) {
        rejection_message = e->message;
        if (e->http_status == 503) res.set_header("retry-after", "5");
        res.set_header("Connection", "close");  // the body stays unread
        send_json(res, e->http_status, api::error_body(*e, request_id(res)));
        return;
      }
    }
    auto body = read_body(req, res, reader);
    if (body) handle_messages(req, std::move(*body), res);
  });
}

// The body, read to its end unless it grows past max_body_bytes — with a Content-Length or in
// chunks alike. Past it nothing more is kept: a little more is read and dropped so that the
// client, still sending, is there to read the 413; beyond that the connection is simply closed.
// Either way the connection ends (what is left unread could not be told from a next request).
std::optional<std::string> HttpServer::Impl::read_body(const httplib::Request& req, httplib::Response& res,
                                                       const httplib::ContentReader& reader) {
  std::string body;
  const std::string length = req.get_header_value("Content-Length");
  // Neither a length nor chunks: HTTP's empty body.
  if (length.empty() && req.get_header_value("Transfer-Encoding").find("chunked") == std::string::npos)
    return body;
  const std::uint64_t declared = length.empty() ? 0 : std::strtoull(length.c_str(), nullptr, 10);
  bool too_large = declared > options.max_body_bytes;
  if (!too_large) body.reserve(declared);  // one buffer of the right size, not a doubling series
  std::size_t dropped = 0;
  const std::size_t drop_at_most = 3 * options.max_body_bytes;
  const bool complete = !too_large && reader([&](const char* data, std::size_t n) {
    if (too_large || body.size() + n > options.max_body_bytes) {
      too_large = true;
      dropped += n;
      return dropped <= drop_at_most;
    }
    body.append(data, n);
    return true;
  });
  if (complete && !too_large) return body;
  const api::ApiError e = too_large ? api::request_too_large()
                                    : api::invalid_request("the request body could not be read to its end");
  rejection_message = e.message;
  res.set_header("Connection", "close");
  send_json(res, e.http_status, api::error_body(e, request_id(res)));
  return std::nullopt;
}

void HttpServer::Impl::handle_messages(const httplib::Request& req, std::string body,
                                       httplib::Response& res) {
  const std::string id = request_id(res);
  if (draining) {
    const auto e = api::overloaded(engine::kShuttingDown, 503);
    res.set_header("retry-after", "5");
    send_json(res, e.http_status, api::error_body(e, id));
    return;
  }
  auto started = service.create(std::move(body), id);
  if (started.reply) {
    if (started.reply->status == 529 || started.reply->status == 503) res.set_header("retry-after", "5");
    send_json(res, started.reply->status, started.reply->body);
    return;
  }
  auto stream = std::move(started.stream);
  if (stream->streaming()) return stream_response(req, res, std::move(stream));

  InFlight counted(in_flight);
  ConnectionProbe probe(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
  std::string reply;
  bool cancelled = false;
  while (stream->poll(reply, kPollWait) != api::ResponseStream::Poll::kDone) {
    if (!cancelled && probe.peer_closed()) {
      stream->cancel();
      cancelled = true;
    }
  }
  // Only a generation the client cut short says so; one that ended is not marred by a client
  // that hangs up as soon as it has the answer.
  log_generation(id, *stream, cancelled);
  // Shed in a memory emergency (or at shutdown): like any 503, say when to come back.
  if (stream->http_status() == 503) res.set_header("retry-after", "5");
  send_json(res, stream->http_status(), reply);
}

void HttpServer::Impl::log_generation(const std::string& id, const api::ResponseStream& stream,
                                      bool client_left) {
  log("generation " + id + " " + stream.outcome() + (client_left ? " (client disconnected)" : ""));
}

void HttpServer::Impl::stream_response(const httplib::Request& req, httplib::Response& res,
                                       std::shared_ptr<api::ResponseStream> stream) {
  struct State {
    std::shared_ptr<api::ResponseStream> stream;
    ConnectionProbe probe;
    Clock::time_point last_write = Clock::now();
    std::string out;
    std::unique_ptr<InFlight> counted;
    std::string id;
    bool client_left = false;
  };
  auto state = std::make_shared<State>();
  state->stream = std::move(stream);
  state->probe = ConnectionProbe(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
  state->counted = std::make_unique<InFlight>(in_flight);
  state->id = request_id(res);
  const auto ping_interval = options.ping_interval;

  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [state, ping_interval](std::size_t, httplib::DataSink& sink) {
        state->out.clear();
        const auto poll = state->stream->poll(state->out, kPollWait);
        if (state->probe.peer_closed()) {
          state->client_left = true;
          state->stream->cancel();
          return false;
        }
        const auto now = Clock::now();
        if (state->out.empty() && poll != api::ResponseStream::Poll::kDone &&
            now - state->last_write >= ping_interval) {
          state->out = api::ping_frame();  // keeps proxies and clients patient during long prompts
        }
        if (!state->out.empty()) {
          if (!sink.write(state->out.data(), state->out.size())) {
            state->client_left = true;
            state->stream->cancel();
            return false;
          }
          state->last_write = now;
        }
        if (poll == api::ResponseStream::Poll::kDone) sink.done();
        return true;
      },
      [this, state](bool success) {
        if (!success) {
          state->stream->cancel();
          // The generation ends (cancelled) on the scheduler thread; wait briefly so the log
          // line says how it ended, never for longer than one slow step.
          std::string ignored;
          const auto until = Clock::now() + std::chrono::seconds(5);
          while (state->stream->poll(ignored, kPollWait) != api::ResponseStream::Poll::kDone &&
                 Clock::now() < until) {
            ignored.clear();
          }
        }
        // As above: a stream that reached its end (success) was not cut short, whatever the
        // client did after reading it.
        log_generation(state->id, *state->stream, state->client_left || !success);
        state->counted.reset();
      });
}

HttpServer::HttpServer(ServerOptions options, api::MessagesService& service, ServerHooks hooks)
    : impl_(std::make_unique<Impl>(std::move(options), service, std::move(hooks))) {
  impl_->install();
}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::bind() {
  auto& o = impl_->options;
  PENSIEVE_TRY(check_bind_policy(o.host, o.api_keys, o.insecure));
  if (o.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(o.host);
  } else {
    impl_->port = impl_->http.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  if (impl_->port < 0) {
    return make_error(ErrorCode::kIo, "cannot listen on " + o.host + ":" + std::to_string(o.port) +
                                          " (address in use, or not an address of this machine?)");
  }
  impl_->bound = true;
  return {};
}

int HttpServer::port() const {
  return impl_->port;
}

void HttpServer::serve() {
  // httplib writes with send() flags of 0: a client that hangs up must not kill us with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  impl_->serving = true;
  if (impl_->bound && !impl_->stop_requested) impl_->http.listen_after_bind();
  impl_->serving = false;
}

void HttpServer::begin_drain() {
  impl_->draining = true;
}

std::size_t HttpServer::in_flight() const {
  return impl_->in_flight.load();
}

void HttpServer::stop() {
  impl_->stop_requested = true;
  // httplib's stop() does nothing until its accept loop runs, so a stop() that lands while serve()
  // is starting would be lost and serve() would never return: wait for the loop, or for serve() to
  // see the request and return.
  while (impl_->serving && !impl_->http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!impl_->http.is_running()) return;
  impl_->http.stop();
  // Idle keep-alive connections would otherwise hold their threads, and so this shutdown, for
  // up to the keep-alive timeout.
  if (impl_->port > 0) shut_down_reading_of_connections(impl_->port);
}

}  // namespace pensieve::server
