#include "upstream/http_client.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace pensieve::upstream {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool has_header(const HeaderList& headers, std::string_view lower_name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return lower(h.first) == lower_name; });
}

class ExchangeImpl final : public HttpClient::Exchange, public std::enable_shared_from_this<ExchangeImpl> {
 public:
  ExchangeImpl(asio::io_context& io, UpstreamUrl url, HttpClient::Request request,
               HttpClient::Handlers handlers)
      : strand_(asio::make_strand(io)),
        resolver_(strand_),
        stream_(strand_),
        deadline_(strand_),
        connect_timer_(strand_),
        url_(std::move(url)),
        request_(std::move(request)),
        handlers_(std::move(handlers)) {}

  void run() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->begin(); });
  }

  void cancel() override {
    asio::post(strand_, [self = shared_from_this()] { self->fail("cancelled"); });
  }

 private:
  std::string where() const { return "upstream " + url_.text(); }

  std::string describe(const beast::error_code& ec, std::chrono::milliseconds limit) const {
    if (ec == beast::error::timeout) return "timed out after " + std::to_string(limit.count()) + " ms";
    return ec.message();
  }

  void begin() {
    if (finished_) return;
    const http::verb verb = http::string_to_verb(request_.method);
    if (verb == http::verb::unknown) return fail("unknown HTTP method '" + request_.method + "'");
    message_.method(verb);
    message_.target(request_.target);
    message_.version(11);
    message_.set(http::field::host, url_.host_header());
    message_.set(http::field::user_agent, "pensieve");
    message_.set(http::field::connection, "close");
    for (const auto& [name, value] : request_.headers) message_.insert(name, value);
    if (!request_.body.empty() && !has_header(request_.headers, "content-type")) {
      message_.set(http::field::content_type, "application/json");
    }
    message_.body() = std::move(request_.body);
    message_.prepare_payload();

    if (request_.deadline.count() > 0) {
      deadline_.expires_after(request_.deadline);
      deadline_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
        if (!ec) {
          self->fail("no whole answer within " + std::to_string(self->request_.deadline.count()) + " ms");
        }
      });
    }
    // The connect timeout covers the name lookup too, which tcp_stream's own timer does not.
    connect_timer_.expires_after(request_.connect_timeout);
    connect_timer_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
      if (!ec)
        self->fail("cannot connect: timed out after " +
                   std::to_string(self->request_.connect_timeout.count()) + " ms");
    });
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        [self = shared_from_this()](const beast::error_code& ec, tcp::resolver::results_type r) {
          self->on_resolve(ec, std::move(r));
        });
  }

  void on_resolve(const beast::error_code& ec, tcp::resolver::results_type results) {
    if (finished_) return;
    if (ec) return fail("cannot resolve '" + url_.host + "': " + ec.message());
    stream_.expires_after(request_.connect_timeout);
    stream_.async_connect(results,
                          [self = shared_from_this()](const beast::error_code& ec, const tcp::endpoint&) {
                            self->on_connect(ec);
                          });
  }

  void on_connect(const beast::error_code& ec) {
    if (finished_) return;
    if (ec) return fail("cannot connect: " + describe(ec, request_.connect_timeout));
    connect_timer_.cancel();
    // Nagle's wait for an ACK the upstream delays (it answers nothing until the body is whole)
    // would hold a request's last segment back by tens of milliseconds.
    beast::error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
    stream_.expires_after(request_.idle_timeout);
    http::async_write(
        stream_, message_,
        [self = shared_from_this()](const beast::error_code& ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(const beast::error_code& ec) {
    if (finished_) return;
    if (ec) return fail("sending the request: " + describe(ec, request_.idle_timeout));
    // The first response bytes are read by hand, so that `reached` says exactly whether any came.
    stream_.expires_after(request_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](const beast::error_code& ec, std::size_t n) {
                              self->on_first_bytes(ec, n);
                            });
  }

  void on_first_bytes(const beast::error_code& ec, std::size_t n) {
    if (finished_) return;
    buffer_.commit(n);
    if (n > 0) reached_ = true;
    if (!reached_) {
      if (ec == asio::error::eof) return fail("closed the connection before answering");
      return fail("waiting for the answer: " + describe(ec, request_.idle_timeout));
    }
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(request_.max_response_bytes);
    stream_.expires_after(request_.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](const beast::error_code& ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(const beast::error_code& ec) {
    if (finished_) return;
    if (ec) return fail("reading the response head: " + describe(ec, request_.idle_timeout));
    const auto& head = parser_->get();
    HeaderList headers;
    for (const auto& field : head)
      headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    if (handlers_.on_head) handlers_.on_head(static_cast<int>(head.result_int()), headers);
    if (finished_) return;  // a handler may have cancelled
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return succeed();
    auto& body = parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    body.more = true;
    stream_.expires_after(request_.idle_timeout);
    http::async_read_some(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (finished_) return;
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t got = chunk_.size() - parser_->get().body().size;
    if (got > 0 && handlers_.on_data) handlers_.on_data(std::string_view(chunk_.data(), got));
    if (finished_) return;
    if (ec == http::error::body_limit) {
      return fail("the response is larger than " + std::to_string(request_.max_response_bytes) + " bytes");
    }
    if (ec) return fail("reading the response: " + describe(ec, request_.idle_timeout));
    read_body();
  }

  void close() {
    beast::error_code ignored;
    resolver_.cancel();
    deadline_.cancel();
    connect_timer_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  void succeed() {
    finished_ = true;
    close();
    if (handlers_.on_end) handlers_.on_end(std::nullopt, true);
    handlers_ = {};  // what they hold goes now, not when the last handler lets go of this
  }

  void fail(const std::string& why) {
    if (finished_) return;
    finished_ = true;
    close();
    if (handlers_.on_end) handlers_.on_end(where() + ": " + why, reached_);
    handlers_ = {};
  }

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  asio::steady_timer deadline_;
  asio::steady_timer connect_timer_;
  UpstreamUrl url_;
  HttpClient::Request request_;
  HttpClient::Handlers handlers_;
  http::request<http::string_body> message_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, kReadChunk> chunk_{};
  bool reached_ = false;
  bool finished_ = false;  // on_end has run; every later completion returns at once
};

// What start() hands out: it does not own the exchange, which lives as long as an operation of
// it is pending, so a handle kept past the client's end refers to nothing rather than to an
// exchange whose I/O services are gone.
class ExchangeHandle final : public HttpClient::Exchange {
 public:
  explicit ExchangeHandle(std::weak_ptr<ExchangeImpl> exchange) : exchange_(std::move(exchange)) {}
  void cancel() override {
    if (auto exchange = exchange_.lock()) exchange->cancel();
  }

 private:
  std::weak_ptr<ExchangeImpl> exchange_;
};

}  // namespace

struct HttpClient::Io {
  asio::io_context context;
  asio::executor_work_guard<asio::io_context::executor_type> work{context.get_executor()};
  std::mutex mutex;
  std::vector<std::weak_ptr<ExchangeImpl>> live;  // to cancel at shutdown
};

HttpClient::HttpClient(std::size_t threads) : io_(std::make_unique<Io>()) {
  threads = std::max<std::size_t>(threads, 1);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([io = io_.get()] {
      // A handler that throws must not take an I/O thread with it.
      for (;;) {
        try {
          io->context.run();
          return;
        } catch (...) {
        }
      }
    });
  }
}

HttpClient::~HttpClient() {
  std::vector<std::weak_ptr<ExchangeImpl>> live;
  {
    std::lock_guard lock(io_->mutex);
    live.swap(io_->live);
  }
  for (const auto& weak : live) {
    if (auto exchange = weak.lock()) exchange->cancel();
  }
  io_->work.reset();
  for (std::thread& thread : threads_) thread.join();
}

std::shared_ptr<HttpClient::Exchange> HttpClient::start(const UpstreamUrl& upstream, Request request,
                                                        Handlers handlers) {
  auto exchange =
      std::make_shared<ExchangeImpl>(io_->context, upstream, std::move(request), std::move(handlers));
  {
    std::lock_guard lock(io_->mutex);
    std::erase_if(io_->live, [](const std::weak_ptr<ExchangeImpl>& weak) { return weak.expired(); });
    io_->live.push_back(exchange);
  }
  exchange->run();
  return std::make_shared<ExchangeHandle>(exchange);
}

HttpClient::PendingGet HttpClient::get_async(const UpstreamUrl& upstream, std::string target,
                                             std::chrono::milliseconds timeout, HeaderList headers) {
  struct State {
    std::promise<Result<Got>> promise;
    Got got;
  };
  auto state = std::make_shared<State>();
  PendingGet pending;
  pending.result = state->promise.get_future();
  Request request;
  request.method = "GET";
  request.target = std::move(target);
  request.headers = std::move(headers);
  request.connect_timeout = timeout;
  request.idle_timeout = timeout;
  request.deadline = timeout;
  request.max_response_bytes = kMaxGetBytes;
  Handlers handlers;
  handlers.on_head = [state](int status, const HeaderList&) { state->got.status = status; };
  handlers.on_data = [state](std::string_view bytes) { state->got.body.append(bytes); };
  handlers.on_end = [state](std::optional<std::string> error, bool) {
    if (error) {
      state->promise.set_value(make_error(ErrorCode::kIo, std::move(*error)));
    } else {
      state->promise.set_value(std::move(state->got));
    }
  };
  pending.exchange = start(upstream, std::move(request), std::move(handlers));
  return pending;
}

Result<HttpClient::Got> HttpClient::get(const UpstreamUrl& upstream, std::string target,
                                        std::chrono::milliseconds timeout, HeaderList headers) {
  return get_async(upstream, std::move(target), timeout, std::move(headers)).result.get();
}

}  // namespace pensieve::upstream
