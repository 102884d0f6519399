// server/peer_state: whether the client of a connection is still there, asked of the kernel
// without reading (a pipelined next request must stay unread).
//
// A client that has sent its request and shut down its sending side (half-close) is still
// waiting for the answer; one that closed or reset the connection is gone. From this side both
// first look the same (the peer's FIN); they differ once we send something: a closed peer answers
// with a reset, after which the socket reports an error.
#pragma once

namespace pensieve::server {

enum class Peer {
  kConnected,
  kFinished,  // sent FIN: half-closed, or closed — write to tell which
  kGone,      // reset, or both directions closed
};

Peer peer_state(int fd);

}  // namespace pensieve::server
