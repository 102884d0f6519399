// Clients the server tests need beyond httplib's defaults: a raw loopback socket (to send exactly
// the bytes a test means, and read all that comes back), and a chunked upload that counts what
// the server let it send.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace pensieve::testing {

// A socket connected to 127.0.0.1:port, or -1.
inline int connect_loopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

// Sends `request` on a new connection and returns everything read until the server closes it
// ("" when no connection could be made).
inline std::string exchange_until_close(int port, const std::string& request) {
  const int fd = connect_loopback(port);
  if (fd < 0) return {};
  std::string reply;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return reply;
}

// POSTs `total` bytes to `path` in 16 KiB chunks (no Content-Length); `sent` says how many the
// server took before it answered or closed.
inline httplib::Result chunked_upload(httplib::Client& client, const std::string& path, std::size_t total,
                                      std::size_t& sent) {
  static const std::string piece(16 << 10, 'a');
  sent = 0;
  return client.Post(
      path,
      [&sent, total](std::size_t, httplib::DataSink& sink) {
        if (sent >= total) {
          sink.done();
          return true;
        }
        sent += piece.size();
        return sink.write(piece.data(), piece.size());
      },
      "application/json");
}

}  // namespace pensieve::testing
