// server/connection: one client connection, from its first byte to its close — requests read
// one after another (pipelined ones too), each header checked before its body is read, the body
// kept only up to the limit, answers written whole or as a stream of server-sent events, and a
// client that leaves noticed while its generation runs. Runs on the connection's strand.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "server/connection_table.hpp"
#include "server/http_server.hpp"
#include "server/routes.hpp"

namespace pensieve::server {

// What every connection shares with the server.
struct ServerState {
  const ServerOptions& options;
  const Routes& routes;
  ConnectionTable& table;
  std::atomic<std::size_t>& in_flight;
  boost::asio::thread_pool& workers;
  std::function<void(const std::string&)> log;
};

boost::asio::awaitable<void> serve_connection(ServerState& state,
                                              std::shared_ptr<boost::beast::tcp_stream> stream,
                                              ConnectionTable::Id id);

}  // namespace pensieve::server
