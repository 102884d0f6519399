// server/connection_table: which connections are open, from which client address, and which of
// them sit idle between requests — so that the server can cap connections in all and per client
// and, at a cap, make room by closing the connection idle longest rather than refusing the newcomer.
// An idle keep-alive connection then costs a file descriptor and a small buffer, never service.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace pensieve::server {

class ConnectionTable {
 public:
  using Id = std::uint64_t;

  ConnectionTable(std::size_t max_total, std::size_t max_per_client);

  // Registers a new connection from `client` (its address, without the port). `close` closes it
  // from any thread. When a cap is reached the connection idle longest (from the same client when
  // that client's cap is the one reached) is closed to make room; when none is idle the newcomer
  // is refused (nullopt) and should be closed at once. A new connection starts busy.
  std::optional<Id> add(const std::string& client, std::function<void()> close);
  void remove(Id id);
  // Idle: waiting for the first byte of its next request.
  void set_idle(Id id, bool idle);
  // Closes every connection (the server stops).
  void close_all();

  std::size_t size() const;
  std::size_t evicted() const;

 private:
  struct Entry {
    std::string client;
    std::function<void()> close;
    std::optional<std::uint64_t> idle_since;  // a tick of `clock_`, when idle
  };
  // Closes the connection idle longest, among those of `client` when given; false when none is.
  bool evict_idle_locked(const std::string* client);

  const std::size_t max_total_;
  const std::size_t max_per_client_;
  mutable std::mutex mutex_;
  Id next_id_ = 1;
  std::uint64_t clock_ = 0;  // orders idleness without reading a clock
  std::unordered_map<Id, Entry> entries_;
  std::unordered_map<std::string, std::size_t> per_client_;
  std::map<std::uint64_t, Id> idle_order_;  // idle_since → connection
  std::size_t evicted_ = 0;
};

}  // namespace pensieve::server
