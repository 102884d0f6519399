#include "server/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <vector>

#include "api/message_builder.hpp"
#include "server/peer_state.hpp"

namespace pensieve::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kUse = net::as_tuple(net::use_awaitable);
constexpr std::size_t kHeaderLimit = 64u << 10;
constexpr std::size_t kReadPiece = 64u << 10;
// How often a running generation looks whether its client is still there.
constexpr auto kPeerCheck = 100ms;
// After a refusal whose body stays unread: what the client is still sending is read and dropped
// for this long at most, so that it reads the answer rather than a reset.
constexpr auto kLingerTime = 5s;

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

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The target's path without its query, %XX decoded.
std::string path_of(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::string path;
  path.reserve(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '%' && i + 2 < target.size() && hex_value(target[i + 1]) >= 0 &&
        hex_value(target[i + 2]) >= 0) {
      path += static_cast<char>(hex_value(target[i + 1]) * 16 + hex_value(target[i + 2]));
      i += 2;
    } else {
      path += target[i];
    }
  }
  return path;
}

bool expects_continue(const http::request<http::buffer_body>& req) {
  return beast::iequals(req[http::field::expect], "100-continue");
}

// How much of an unread body to read and drop after refusing it, so that its sender, still
// sending, gets to read the answer: a declared length (up to three times the largest body
// allowed) costs bandwidth but no memory; chunks of unknown length only up to `chunked`.
std::size_t drain_budget(const http::request_parser<http::buffer_body>& parser, std::size_t chunked,
                         std::size_t max_body) {
  if (const auto declared = parser.content_length()) return std::min<std::uint64_t>(*declared, 3 * max_body);
  return chunked;
}

// Runs `work` on the worker pool and resumes on the caller's strand with its result.
template <typename Work>
net::awaitable<std::invoke_result_t<Work&>> on_worker(net::thread_pool& workers, Work work) {
  using Result = std::invoke_result_t<Work&>;
  co_return co_await net::co_spawn(
      workers.get_executor(), [&work]() -> net::awaitable<Result> { co_return work(); }, net::use_awaitable);
}

class Connection {
 public:
  Connection(ServerState& state, std::shared_ptr<beast::tcp_stream> stream, ConnectionTable::Id id)
      : s_(state), stream_(std::move(stream)), id_(id) {}
  ~Connection() { s_.table.remove(id_); }

  net::awaitable<void> run();

 private:
  // One request: false when the connection ends after it.
  net::awaitable<bool> serve_request();
  // Reads the body up to the route's limit; nullopt after answering a refusal.
  net::awaitable<std::optional<std::string>> read_body(http::request_parser<http::buffer_body>& parser,
                                                       const RequestHead& head);
  net::awaitable<bool> write_answer(Answer answer, const RequestHead& head);
  // Carries a generation's output to the client; false when the client left.
  net::awaitable<bool> carry(std::shared_ptr<api::Generation> generation, const RequestHead& head);
  net::awaitable<bool> write_raw(std::string_view bytes);
  net::awaitable<bool> write_chunk(std::string_view bytes);
  // Reads and drops what the client still sends, up to `budget` bytes, then the connection ends.
  net::awaitable<void> linger(std::size_t budget);
  void log_request(const RequestHead& head, int status, const std::string& rejection);
  void log_generation(const RequestHead& head, const api::Generation& generation, bool client_left);

  ServerState& s_;
  std::shared_ptr<beast::tcp_stream> stream_;
  ConnectionTable::Id id_;
  beast::flat_buffer buffer_;
  unsigned version_ = 11;
  bool head_only_ = false;
};

net::awaitable<void> Connection::run() {
  while (co_await serve_request()) {
  }
  beast::error_code ignored;
  stream_->socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_->close();
}

net::awaitable<bool> Connection::serve_request() {
  // Between requests the connection is idle, and may be closed to make room for a new one,
  // until the first byte of its next request.
  if (buffer_.size() == 0) {
    s_.table.set_idle(id_, true);
    stream_->expires_after(s_.options.keep_alive_timeout);
    auto [ec, n] = co_await stream_->async_read_some(buffer_.prepare(kReadPiece), kUse);
    s_.table.set_idle(id_, false);
    if (ec) co_return false;
    buffer_.commit(n);
  }

  http::request_parser<http::buffer_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(boost::none);  // read_body() holds the limit, with a length or in chunks alike
  stream_->expires_after(s_.options.read_timeout);
  auto [ec, header_bytes] = co_await http::async_read_header(*stream_, buffer_, parser, kUse);
  (void)header_bytes;
  RequestHead head;
  head.id = api::random_id("req_");
  if (ec) {
    // A client that closed between requests, or a header never finished, gets no answer.
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted)
      co_return false;
    head.method = "?";
    head.path = "?";
    co_await write_answer(error_answer(api::invalid_request("the HTTP request could not be read"), head.id),
                          head);
    co_return false;
  }
  const auto& req = parser.get();
  version_ = req.version();
  head.method = std::string(req.method_string());
  head.path = path_of(req.target());
  head_only_ = req.method() == http::verb::head;
  head.header = [&req](std::string_view name) { return std::string(req[name]); };
  head.content_length = parser.content_length().value_or(0);
  const bool keep_alive = parser.keep_alive();

  if (auto answer = s_.routes.before_body(head)) {
    // A body nobody reads cannot be told from the next request: the connection ends after it.
    if (!parser.is_done()) answer->close = true;
    const bool close = answer->close || !keep_alive;
    if (!co_await write_answer(std::move(*answer), head)) co_return false;
    if (close && !parser.is_done())
      co_await linger(drain_budget(parser, s_.routes.body_limit(), s_.options.max_body_bytes));
    co_return !close;
  }

  auto body = co_await read_body(parser, head);
  if (!body) co_return false;
  auto outcome = co_await on_worker(s_.workers, [&] { return s_.routes.handle(head, std::move(*body)); });
  if (outcome.answer) co_return co_await write_answer(std::move(*outcome.answer), head) && keep_alive;
  co_return co_await carry(std::move(outcome.generation), head) && keep_alive;
}

net::awaitable<std::optional<std::string>> Connection::read_body(
    http::request_parser<http::buffer_body>& parser, const RequestHead& head) {
  std::string body;
  const std::size_t limit = s_.routes.body_limit();
  const auto declared = parser.content_length();
  bool too_large = declared && *declared > limit;
  bool complete = parser.is_done();  // neither a length nor chunks: HTTP's empty body
  if (!too_large && !complete) {
    if (declared) body.reserve(static_cast<std::size_t>(*declared));  // one buffer, not a doubling series
    if (expects_continue(parser.get()) && !co_await write_raw("HTTP/1.1 100 Continue\r\n\r\n"))
      co_return std::nullopt;
    std::vector<char> piece(kReadPiece);
    while (!parser.is_done()) {
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
      stream_->expires_after(s_.options.read_timeout);
      auto [ec, n] = co_await http::async_read(*stream_, buffer_, parser, kUse);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) break;
      const std::size_t got = piece.size() - parser.get().body().size;
      if (body.size() + got > limit) {
        too_large = true;
        break;
      }
      body.append(piece.data(), got);
    }
    complete = parser.is_done() && !too_large;
  }
  if (complete) co_return body;
  std::string().swap(body);
  const api::ApiError e = too_large ? s_.routes.body_too_large()
                                    : api::invalid_request("the request body could not be read to its end");
  Answer answer = error_answer(e, head.id, openai_route(head.path));
  answer.close = true;
  if (co_await write_answer(std::move(answer), head))
    co_await linger(drain_budget(parser, 3 * limit, s_.options.max_body_bytes));
  co_return std::nullopt;
}

net::awaitable<bool> Connection::write_answer(Answer answer, const RequestHead& head) {
  http::response<http::string_body> res{static_cast<http::status>(answer.status), version_};
  // Beast names no reason for 529; the real API's status line says what it means.
  if (answer.status == 529) res.reason("Overloaded");
  res.set("request-id", head.id);
  // The memory figures are for clients with the key, not for whoever was just refused one.
  for (auto& [k, v] : s_.routes.common_headers(answer.status != 401)) res.set(k, v);
  for (auto& [k, v] : answer.headers) res.set(k, v);
  res.set(http::field::content_type, answer.content_type);
  res.keep_alive(!answer.close);
  res.body() = std::move(answer.body);
  res.prepare_payload();
  stream_->expires_after(s_.options.write_timeout);
  beast::error_code ec;
  if (head_only_) {
    http::response_serializer<http::string_body> serializer{res};
    std::tie(ec, std::ignore) = co_await http::async_write_header(*stream_, serializer, kUse);
  } else {
    std::tie(ec, std::ignore) = co_await http::async_write(*stream_, res, kUse);
  }
  log_request(head, answer.status, answer.rejection);
  co_return !ec;
}

net::awaitable<bool> Connection::write_raw(std::string_view bytes) {
  stream_->expires_after(s_.options.write_timeout);
  auto [ec, n] = co_await net::async_write(*stream_, net::buffer(bytes.data(), bytes.size()), kUse);
  co_return !ec;
}

net::awaitable<bool> Connection::write_chunk(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string size;
  for (std::size_t n = bytes.size(); n > 0; n /= 16) size.insert(size.begin(), kHex[n % 16]);
  std::string frame = size + "\r\n";
  frame.append(bytes);
  frame += "\r\n";
  co_return co_await write_raw(frame);
}

net::awaitable<bool> Connection::carry(std::shared_ptr<api::Generation> generation, const RequestHead& head) {
  InFlight counted(s_.in_flight);
  const bool streaming = generation->streaming();
  const bool chunked = version_ >= 11;
  // The generation wakes us when it has output; in between we sleep on the timer.
  // One wake-up waits at a time, however fast tokens come.
  struct Waker {
    explicit Waker(net::any_io_executor ex) : timer(std::move(ex)) {}
    net::steady_timer timer;
    std::atomic<bool> posted{false};
    // Set on the strand by a wake-up: one that comes while a write is under way (no timer to
    // cancel yet) must not be lost, or the next output waits out a whole sleep.
    bool woken = false;
  };
  auto waker = std::make_shared<Waker>(stream_->get_executor());
  auto* timer = &waker->timer;
  generation->set_wake([weak = std::weak_ptr<Waker>(waker), ex = stream_->get_executor()] {
    const auto w = weak.lock();
    if (!w || w->posted.exchange(true)) return;
    net::post(ex, [weak] {
      if (const auto w = weak.lock()) {
        w->posted = false;
        w->woken = true;
        w->timer.cancel();
      }
    });
  });

  bool client_left = false;
  if (streaming) {
    http::response<http::empty_body> res{http::status::ok, version_};
    res.set("request-id", head.id);
    for (auto& [k, v] : s_.routes.common_headers(true)) res.set(k, v);
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    if (chunked) res.chunked(true);
    res.keep_alive(chunked);  // HTTP/1.0 learns the end from the close
    http::response_serializer<http::empty_body> serializer{res};
    stream_->expires_after(s_.options.write_timeout);
    auto [ec, n] = co_await http::async_write_header(*stream_, serializer, kUse);
    client_left = static_cast<bool>(ec);
    log_request(head, 200, {});
  }

  const int fd = stream_->socket().native_handle();
  auto last_write = Clock::now();
  bool probed = false;
  std::string out;
  while (!client_left) {
    waker->woken = false;  // what woke us is read by this poll
    out.clear();
    const auto poll = generation->poll(out, 0ms);
    const bool done = poll == api::Generation::Poll::kDone;
    const Peer peer = peer_state(fd);
    if (peer == Peer::kGone) {
      client_left = true;
      break;
    }
    const auto now = Clock::now();
    if (peer == Peer::kFinished && !probed && !done) {
      // Half-closed (still reading) or closed: sending something tells which, since a closed
      // client answers with a reset. A stream sends a ping; a JSON answer an interim 100, which
      // HTTP/1.1 clients skip.
      probed = true;
      if (streaming && out.empty()) out = generation->ping_frame();
      if (!streaming && version_ >= 11 && !co_await write_raw("HTTP/1.1 100 Continue\r\n\r\n")) {
        client_left = true;
        break;
      }
    }
    if (streaming) {
      // Pings keep proxies and clients patient during a long prompt.
      if (out.empty() && !done && now - last_write >= s_.options.ping_interval)
        out = generation->ping_frame();
      if (!out.empty()) {
        const bool sent = chunked ? co_await write_chunk(out) : co_await write_raw(out);
        if (!sent) {
          client_left = true;
          break;
        }
        last_write = now;
      }
      if (done) {
        if (chunked && !co_await write_raw("0\r\n\r\n")) client_left = true;
        break;
      }
    } else if (done) {
      Answer answer = json_answer(generation->http_status(), std::move(out));
      // Shed in a memory emergency (or at shutdown): like any 503, say when to come back.
      if (answer.status == 503 || answer.status == 529) answer.headers.emplace_back("retry-after", "5");
      log_generation(head, *generation, false);
      generation->set_wake(nullptr);
      co_return co_await write_answer(std::move(answer), head);
    }
    auto wait = std::chrono::duration_cast<Clock::duration>(kPeerCheck);
    if (streaming)
      wait = std::min(wait, std::max<Clock::duration>(last_write + s_.options.ping_interval - now, 1ms));
    if (waker->woken) continue;  // woken while writing: there is more already
    timer->expires_after(wait);
    co_await timer->async_wait(kUse);
  }

  if (client_left) {
    generation->cancel();
    // The generation ends (cancelled) on the scheduler thread; wait a little so that the log
    // line says how it ended, never for longer than one slow step.
    const auto until = Clock::now() + 5s;
    while (Clock::now() < until) {
      out.clear();
      if (generation->poll(out, 0ms) == api::Generation::Poll::kDone) break;
      timer->expires_after(50ms);
      co_await timer->async_wait(kUse);
    }
  }
  generation->set_wake(nullptr);
  // Only a generation the client cut short says so; one that ended is not marred by a client
  // that hangs up as soon as it has the answer.
  log_generation(head, *generation, client_left);
  co_return !client_left && chunked;
}

net::awaitable<void> Connection::linger(std::size_t budget) {
  beast::error_code ignored;
  stream_->socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  std::size_t dropped = 0;
  const auto until = Clock::now() + kLingerTime;
  std::vector<char> sink(kReadPiece);
  while (dropped <= budget && Clock::now() < until) {
    stream_->expires_at(until);
    auto [ec, n] = co_await stream_->async_read_some(net::buffer(sink), kUse);
    if (ec) break;
    dropped += n;
  }
}

void Connection::log_request(const RequestHead& head, int status, const std::string& rejection) {
  std::string line =
      "request " + head.id + " " + head.method + " " + head.path + " " + std::to_string(status);
  if (status >= 400) line += " rejected: " + rejection;
  s_.log(line);
}

void Connection::log_generation(const RequestHead& head, const api::Generation& generation,
                                bool client_left) {
  s_.log("generation " + head.id + " " + generation.outcome() +
         (client_left ? " (client disconnected)" : ""));
}

}  // namespace

net::awaitable<void> serve_connection(ServerState& state, std::shared_ptr<beast::tcp_stream> stream,
                                      ConnectionTable::Id id) {
  Connection connection(state, std::move(stream), id);
  co_await connection.run();
}

}  // namespace pensieve::server
