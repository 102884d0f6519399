// upstream/health_monitor: a thread that asks every upstream, right away and then every
// `interval`, whether it is up (GET /health) and how loaded it is (GET /metrics), and tells the
// pool. All upstreams are asked at once, so one that hangs delays nobody else's answer.
//
// Up means /health answered 2xx — or 404, a server without that route: it answered, so it is
// reachable, and the request path reports any real error. Metrics that are missing (404) or
// name nothing known leave the pool with its outstanding-request limit alone.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "upstream/http_client.hpp"
#include "upstream/upstream_pool.hpp"

namespace pensieve::upstream {

struct HealthMonitorOptions {
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{2000};  // each GET, connection included
  std::string api_key;                      // when set: authorization: Bearer KEY and x-api-key: KEY
  // When set: a line each time an upstream goes down (with why) or comes back.
  std::function<void(const std::string&)> log;
};

class HealthMonitor {
 public:
  // `pool` and `client` must outlive the monitor. The first round starts at once.
  HealthMonitor(UpstreamPool& pool, HttpClient& client, HealthMonitorOptions options = {});
  ~HealthMonitor();  // cancels the round in flight and joins, without waiting out the interval
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Starts a round now rather than at the next interval and returns when one that began after
  // this call has reported to the pool (e.g. when every upstream is down and a request waits).
  void check_now();
  std::uint64_t rounds() const;  // rounds reported so far

 private:
  void run();
  void round();

  UpstreamPool& pool_;
  HttpClient& client_;
  const HealthMonitorOptions options_;
  HeaderList headers_;
  std::vector<bool> reported_up_;  // monitor thread only: for the log's transitions

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  bool stopping_ = false;
  bool requested_ = false;
  std::uint64_t started_ = 0;
  std::uint64_t finished_ = 0;
  std::vector<std::shared_ptr<HttpClient::Exchange>> in_flight_;  // cancelled on shutdown
  std::thread thread_;
};

}  // namespace pensieve::upstream
