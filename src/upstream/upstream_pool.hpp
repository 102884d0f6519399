// upstream/upstream_pool: which upstream takes the next request, or why none can (a 529).
//
// Pure bookkeeping — no sockets, a clock that tests can set — shared by every request thread
// behind one mutex whose sections are short. It knows, per upstream, whether it is up (from the
// health monitor and from connection failures), how many requests this front has in flight there
// (leases), and its load as its metrics last said.
//
// Choosing: the candidates are the upstreams that are up, not yet tried for this request and not
// full. Of those, the one a request's prompt prefix hashes to (rendezvous hashing, so the same
// conversation keeps landing where its prefix is cached, and adding or losing an upstream moves
// only the keys that were on it) is taken unless it has too many more requests in flight than
// the least loaded candidate (PoolOptions::affinity_slack, affinity_ratio); then the least loaded
// is, the key's rendezvous order breaking ties.
//
// Full means: this front's requests there reached max_outstanding; or, from its metrics, its
// queue reached max_waiting, or its KV cache is at max_kv_usage with something queued. Metrics
// are a snapshot up to one scrape old, so while the snapshot showed a queue, the requests sent
// there since count as queued too (less those that finished since, each of which let one in): an
// upstream that was queueing cannot start them ahead of its queue, and a burst between two
// scrapes would otherwise all pile onto it. When the snapshot showed no queue the requests sent
// since are not counted — it had room, and counting them would refuse work an idle upstream can
// take; the outstanding cap bounds that burst instead. A snapshot older than max_load_age (a
// monitor that stopped reading metrics) is not trusted at all.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "upstream/prometheus.hpp"
#include "upstream/upstream_url.hpp"

namespace pensieve::upstream {

struct PoolOptions {
  std::size_t max_outstanding = 16;  // per upstream: requests in flight from this front
  double max_waiting = 4;            // from metrics: at or over this many queued it takes no more
  double max_kv_usage = 0.97;        // from metrics: at or over this, with something queued, no more
  // The affine upstream is kept while its outstanding <= least + slack + ratio * least (least:
  // the fewest outstanding on any candidate). Generous on purpose: losing affinity costs a whole
  // prompt's prefill on the new upstream, while a few extra requests on an upstream that is not
  // full cost little (batching), and a full one is no candidate at all. With 4 upstreams and 8
  // to 16 requests in flight from other conversations, a conversation stays on its upstream
  // ≥95% of the time (slack 2 without the ratio: ~80%; see upstream_pool_test).
  std::size_t affinity_slack = 4;
  double affinity_ratio = 1.0;
  std::chrono::milliseconds max_load_age{10000};  // older metrics are ignored
  std::function<std::chrono::steady_clock::time_point()> clock = std::chrono::steady_clock::now;
};

class UpstreamPool {
 public:
  // Upstreams not yet health-checked count as up, so the first request does not wait for it.
  UpstreamPool(std::vector<UpstreamUrl> upstreams, PoolOptions options = {});
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // One request in flight on one upstream; releasing it (destruction) ends the request's count
  // there. Must not outlive the pool.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    std::size_t index() const { return index_; }
    const UpstreamUrl& url() const;

   private:
    friend class UpstreamPool;
    Lease(UpstreamPool* pool, std::size_t index) : pool_(pool), index_(index) {}
    UpstreamPool* pool_ = nullptr;
    std::size_t index_ = 0;
  };

  enum class Refusal { kAllDown, kAllBusy };
  struct Choice {
    std::optional<Lease> lease;  // set when an upstream takes the request
    Refusal refusal = Refusal::kAllBusy;
    std::string message;  // when refused: what a user reads in the error
  };

  // `prefix_key`: a hash of the request's prompt prefix; `tried`: upstreams that already failed
  // for this request (failover), never chosen again. Refusal: kAllDown when no untried upstream
  // is up, else kAllBusy naming the limit each hit.
  Choice choose(std::uint64_t prefix_key, const std::vector<std::size_t>& tried = {});

  // A connection to it failed: down until a health check passes.
  void connection_failed(std::size_t index);
  // From the health monitor: up or down, and the load its metrics show (nullopt: none).
  void health_checked(std::size_t index, bool up, std::optional<UpstreamLoad> load);

  struct UpstreamState {
    std::string url;
    bool up = true;
    std::size_t outstanding = 0;
    std::optional<UpstreamLoad> load;  // the last snapshot, whatever its age
    std::uint64_t requests = 0;        // leases taken since start
    std::uint64_t failures = 0;        // connection failures since start
  };
  std::vector<UpstreamState> states() const;
  // pensieve_upstream_{up,outstanding,requests_total,failures_total}{upstream="URL"}.
  std::string prometheus_text() const;

  const std::vector<UpstreamUrl>& upstreams() const { return urls_; }
  std::size_t size() const { return urls_.size(); }

 private:
  struct Entry {
    bool up = true;
    std::size_t outstanding = 0;
    std::optional<UpstreamLoad> load;
    std::chrono::steady_clock::time_point load_at{};
    std::uint64_t sent_since_load = 0;      // leases taken since the snapshot
    std::uint64_t finished_since_load = 0;  // leases released since the snapshot
    std::uint64_t requests = 0;
    std::uint64_t failures = 0;
    std::uint64_t seed = 0;  // rendezvous identity, from the URL
  };

  // Why an upstream cannot take one more now; empty when it can. With mutex_ held.
  std::string full_reason(const Entry& entry, std::chrono::steady_clock::time_point now) const;
  void release(std::size_t index);

  const std::vector<UpstreamUrl> urls_;
  const PoolOptions options_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

}  // namespace pensieve::upstream
