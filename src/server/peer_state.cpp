#include "server/peer_state.hpp"

#include <poll.h>

namespace pensieve::server {

Peer peer_state(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return Peer::kConnected;
  if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return Peer::kGone;
  if (p.revents & POLLRDHUP) return Peer::kFinished;
  return Peer::kConnected;
}

}  // namespace pensieve::server
