#include "server/connection_table.hpp"

#include <vector>

namespace pensieve::server {

ConnectionTable::ConnectionTable(std::size_t max_total, std::size_t max_per_client)
    : max_total_(max_total), max_per_client_(max_per_client) {}

std::optional<ConnectionTable::Id> ConnectionTable::add(const std::string& client,
                                                        std::function<void()> close) {
  std::lock_guard lock(mutex_);
  const auto same = per_client_.find(client);
  if (same != per_client_.end() && same->second >= max_per_client_ && !evict_idle_locked(&client))
    return std::nullopt;
  if (entries_.size() >= max_total_ && !evict_idle_locked(nullptr)) return std::nullopt;
  const Id id = next_id_++;
  entries_.emplace(id, Entry{client, std::move(close), std::nullopt});
  ++per_client_[client];
  return id;
}

void ConnectionTable::remove(Id id) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (it->second.idle_since) idle_order_.erase(*it->second.idle_since);
  const auto count = per_client_.find(it->second.client);
  if (count != per_client_.end() && --count->second == 0) per_client_.erase(count);
  entries_.erase(it);
}

void ConnectionTable::set_idle(Id id, bool idle) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (idle == e.idle_since.has_value()) return;
  if (idle) {
    e.idle_since = clock_++;
    idle_order_.emplace(*e.idle_since, id);
  } else {
    idle_order_.erase(*e.idle_since);
    e.idle_since.reset();
  }
}

bool ConnectionTable::evict_idle_locked(const std::string* client) {
  for (auto it = idle_order_.begin(); it != idle_order_.end(); ++it) {
    const auto entry = entries_.find(it->second);
    if (client && entry->second.client != *client) continue;
    // Closing posts the close to the connection's own thread; its entry goes when it ends. Until
    // then it is neither idle nor counted, so it is not chosen twice nor blocks the newcomer.
    Entry evicted = std::move(entry->second);
    idle_order_.erase(it);
    const auto count = per_client_.find(evicted.client);
    if (--count->second == 0) per_client_.erase(count);
    entries_.erase(entry);
    ++evicted_;
    evicted.close();
    return true;
  }
  return false;
}

void ConnectionTable::close_all() {
  std::vector<std::function<void()>> closes;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, e] : entries_) closes.push_back(e.close);
  }
  for (auto& close : closes) close();
}

std::size_t ConnectionTable::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t ConnectionTable::evicted() const {
  std::lock_guard lock(mutex_);
  return evicted_;
}

}  // namespace pensieve::server
