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
  ConnectionProbe(const std::string& local_addr, int local_port, const std::string& remote_addr,
                  int remote_port);

  bool found() const { return fd_ >= 0; }
  // True once the peer has closed or reset the connection. False when unknown.
  bool peer_closed() const;

 private:
  int fd_ = -1;
};

// Shuts down the reading side of every accepted connection on `local_port`, so that threads
// waiting on idle keep-alive connections see end-of-file and return at once; responses being
// written still complete. Used when the server stops. Returns how many it shut.
int shut_down_reading_of_connections(int local_port);

}  // namespace pensieve::server
