#include "server/http_server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <thread>
#include <vector>

#include "core/log.hpp"
#include "server/auth.hpp"
#include "server/connection.hpp"
#include "server/connection_table.hpp"
#include "server/local_backend.hpp"
#include "server/routes.hpp"

namespace pensieve::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

// Descriptors kept back from connections: the model, logs, the prompt store, accept itself.
constexpr std::size_t kReservedFiles = 128;

// Raises the soft limit on open files to the hard one and returns what it now is: each
// connection is a descriptor, and the default soft limit (1024) is lower than the server's cap.
std::size_t raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<std::size_t>(limit.rlim_cur);
}

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  std::unique_ptr<LocalBackend> local;  // when built on a MessagesService
  api::ApiBackend& backend;
  ServerHooks hooks;
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> in_flight{0};
  Routes routes;
  std::unique_ptr<ConnectionTable> table;
  // Destroyed first (see ~Impl): pending handlers hold references to the members above.
  std::unique_ptr<net::io_context> io = std::make_unique<net::io_context>();
  std::unique_ptr<net::thread_pool> workers;
  std::unique_ptr<tcp::acceptor> acceptor = std::make_unique<tcp::acceptor>(*io);
  std::unique_ptr<ServerState> state;
  bool bound = false;
  int port = -1;

  Impl(ServerOptions o, std::unique_ptr<LocalBackend> l, api::ApiBackend& b, ServerHooks h)
      : options(std::move(o)),
        local(std::move(l)),
        backend(b),
        hooks(std::move(h)),
        routes(options, backend, hooks, draining) {
    if (!hooks.log) hooks.log = [](const std::string& line) { core::log::info(line); };
    workers = std::make_unique<net::thread_pool>(std::max<std::size_t>(options.worker_threads, 1));
  }

  ~Impl() {
    io->stop();
    workers->join();  // a worker's result is posted to io, which must outlive it
    acceptor.reset();
    io.reset();  // destroys the connections' suspended coroutines while what they use still lives
  }

  net::awaitable<void> accept_loop();
  void admit(tcp::socket socket);
};

net::awaitable<void> HttpServer::Impl::accept_loop() {
  net::steady_timer backoff(*io);
  for (;;) {
    auto [ec, socket] =
        co_await acceptor->async_accept(net::make_strand(*io), net::as_tuple(net::use_awaitable));
    if (!acceptor->is_open() || ec == net::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors (or a connection reset before it was accepted): pause rather than
      // spin; closing idle connections is the table's job, at its caps.
      hooks.log("accept failed: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(net::as_tuple(net::use_awaitable));
      continue;
    }
    admit(std::move(socket));
  }
}

void HttpServer::Impl::admit(tcp::socket socket) {
  beast::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  if (ec) return;
  socket.set_option(tcp::no_delay(true), ec);
  auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
  auto executor = stream->get_executor();
  auto close = [weak = std::weak_ptr<beast::tcp_stream>(stream), executor] {
    net::post(executor, [weak] {
      if (auto s = weak.lock()) s->close();
    });
  };
  const auto id = table->add(peer.address().to_string(), close);
  if (!id) {
    stream->close();  // over the caps, with nothing idle to make room
    return;
  }
  net::co_spawn(executor, serve_connection(*state, std::move(stream), *id),
                [log = hooks.log](std::exception_ptr e) {
                  if (!e) return;
                  try {
                    std::rethrow_exception(e);
                  } catch (const std::exception& ex) {
                    log(std::string("connection ended by an error: ") + ex.what());
                  } catch (...) {
                  }
                });
}

HttpServer::HttpServer(ServerOptions options, api::MessagesService& service, ServerHooks hooks) {
  auto local = std::make_unique<LocalBackend>(service);
  auto& backend = *local;
  impl_ = std::make_unique<Impl>(std::move(options), std::move(local), backend, std::move(hooks));
}

HttpServer::HttpServer(ServerOptions options, api::ApiBackend& backend, ServerHooks hooks)
    : impl_(std::make_unique<Impl>(std::move(options), nullptr, backend, std::move(hooks))) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::bind() {
  auto& o = impl_->options;
  PENSIEVE_TRY(check_bind_policy(o.host, o.api_keys, o.insecure));
  const std::size_t files = raise_file_limit();
  const std::size_t max_total = std::max<std::size_t>(
      1, std::min(o.max_connections, files > kReservedFiles ? files - kReservedFiles : 1));
  impl_->table = std::make_unique<ConnectionTable>(max_total, o.max_connections_per_client);
  impl_->state = std::make_unique<ServerState>(ServerState{
      impl_->options, impl_->routes, *impl_->table, impl_->in_flight, *impl_->workers, impl_->hooks.log});

  beast::error_code ec;
  const std::string host = o.host == "localhost" ? "127.0.0.1" : o.host;
  const auto address = net::ip::make_address(host, ec);
  auto fail = [&o](const std::string& why) {
    return make_error(ErrorCode::kIo,
                      "cannot listen on " + o.host + ":" + std::to_string(o.port) + " (" + why + ")");
  };
  if (ec) return fail("not an IP address");
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(o.port));
  auto& acceptor = *impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close();
    return fail(ec.message() + "; address in use, or not an address of this machine?");
  }
  impl_->port = acceptor.local_endpoint().port();
  impl_->bound = true;
  return {};
}

int HttpServer::port() const {
  return impl_->port;
}

void HttpServer::serve() {
  // A write to a client that hung up must fail with EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  if (!impl_->bound) return;
  auto& io = *impl_->io;
  net::co_spawn(io, impl_->accept_loop(), net::detached);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl_->options.io_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
}

void HttpServer::begin_drain() {
  impl_->draining = true;
}

std::size_t HttpServer::in_flight() const {
  return impl_->in_flight.load();
}

std::size_t HttpServer::connections() const {
  return impl_->table ? impl_->table->size() : 0;
}

std::size_t HttpServer::connections_evicted() const {
  return impl_->table ? impl_->table->evicted() : 0;
}

void HttpServer::stop() {
  // io_context::stop() holds even when it lands before serve() runs: run() then returns at
  // once. Idle connections are not waited for; their coroutines are destroyed with the server.
  impl_->io->stop();
}

}  // namespace pensieve::server
