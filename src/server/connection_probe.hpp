// server/connection_probe: notices a client that hung up while we are still generating for it.
//
// cpp-httplib 0.11 exposes neither the socket nor a liveness check to handlers, and a write
// to a closed connection only fails a round trip later. So we find the connection's socket
// once per request (the fd whose local and peer addresses match the request's) and ask the
// kernel whether the peer has closed (POLLRDHUP) before each wait.
#pragma once

#include <string>

namespace pensieve::server {

class ConnectionProbe {
 public:
  ConnectionProbe() = default;
  // Finds the socket of the connection (local_addr:local_port ↔ remote_addr:remote_port).
  ConnectionProbe(const std::string& local_addr, int local_port, const std::string& remote_addr, int remote_port);

  bool found() const { return fd_ >= 0; }
  // True once the peer has closed or reset the connection. False when unknown.
  bool peer_closed() const;

 private:
  int fd_ = -1;
};

}  // namespace pensieve::server
