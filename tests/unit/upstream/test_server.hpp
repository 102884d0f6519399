// A small HTTP server on 127.0.0.1 for the upstream tests: blocking Asio, a thread per
// connection, and a handler that writes whatever raw bytes a test wants (slow chunks, a close
// before answering, garbage), so the client is tested against real sockets.
#pragma once

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <istream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "upstream/upstream_url.hpp"

namespace pensieve::upstream::testing {

struct ServerRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;

  std::string header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return {};
  }
};

class TestServer {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using Handler = std::function<void(Socket& socket, const ServerRequest& request)>;

  explicit TestServer(Handler handler)
      : handler_(std::move(handler)), acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~TestServer() {
    stopping_ = true;
    // Wakes the blocking accept with a connection of our own.
    try {
      Socket wake(io_);
      wake.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
    } catch (...) {
    }
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(connections_);
    }
    for (auto& t : threads) t.join();
  }

  std::uint16_t port() const { return port_; }
  UpstreamUrl url() const { return UpstreamUrl{"127.0.0.1", port_, ""}; }
  int connections() const { return accepted_.load(); }

  std::vector<ServerRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  static void write(Socket& socket, const std::string& bytes) {
    boost::system::error_code ignored;
    boost::asio::write(socket, boost::asio::buffer(bytes), ignored);
  }
  static std::string chunk(const std::string& data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      Socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) continue;
      ++accepted_;
      std::lock_guard lock(mutex_);
      connections_.emplace_back([this, s = std::move(socket)]() mutable { serve(s); });
    }
  }

  void serve(Socket& socket) {
    boost::asio::streambuf buffer;
    boost::system::error_code ec;
    boost::asio::read_until(socket, buffer, "\r\n\r\n", ec);
    if (ec) return;
    std::istream in(&buffer);
    ServerRequest request;
    std::string line;
    std::getline(in, line);
    const auto sp1 = line.find(' '), sp2 = line.rfind(' ');
    request.method = line.substr(0, sp1);
    request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t length = 0;
    while (std::getline(in, line) && line != "\r") {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (name == "content-length") length = std::stoul(value);
      request.headers.emplace_back(name, value);
    }
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (body.size() < length) {
      std::string rest(length - body.size(), '\0');
      boost::asio::read(socket, boost::asio::buffer(rest), ec);
      body += rest;
    }
    request.body = body;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    handler_(socket, request);
    socket.shutdown(Socket::shutdown_both, ec);
    socket.close(ec);
  }

  Handler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_thread_;
  mutable std::mutex mutex_;
  std::vector<std::thread> connections_;
  std::vector<ServerRequest> requests_;
};

// A one-way signal between the test and a server handler. wait() gives up after a minute so a
// broken client fails its test instead of hanging the suite; it says whether the signal came.
class Gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::minutes(1), [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A port on 127.0.0.1 that nothing listens on: one outside the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range), found free. The kernel hands out only ephemeral ports,
// to servers on port 0 and to outgoing connections, so a concurrent test's server cannot take
// this one before the test connects to it, as it could a port bound on 0 and closed. Where the
// range covers every port, such a port (with that race).
inline std::uint16_t closed_port() {
  namespace ip = boost::asio::ip;
  int low = 32768, high = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
  const int first = high < 65535 ? high + 1 : 1024;
  const int last = high < 65535 ? 65535 : low - 1;
  boost::asio::io_context io;
  ip::tcp::acceptor acceptor(io);
  std::mt19937 random(std::random_device{}());
  for (int tries = 0; tries < 50 && first <= last; ++tries) {
    const auto port = static_cast<std::uint16_t>(std::uniform_int_distribution<int>(first, last)(random));
    boost::system::error_code ec;
    acceptor.open(ip::tcp::v4(), ec);
    if (!ec) acceptor.bind({ip::make_address("127.0.0.1"), port}, ec);
    acceptor.close();
    if (!ec) return port;  // else in use: a program chose it; draw again
  }
  ip::tcp::acceptor any(io, {ip::make_address("127.0.0.1"), 0});
  return any.local_endpoint().port();
}

}  // namespace pensieve::upstream::testing
