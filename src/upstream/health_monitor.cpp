#include "upstream/health_monitor.hpp"

#include <optional>

namespace pensieve::upstream {

HealthMonitor::HealthMonitor(UpstreamPool& pool, HttpClient& client, HealthMonitorOptions options)
    : pool_(pool), client_(client), options_(std::move(options)), reported_up_(pool.size(), true) {
  if (!options_.api_key.empty()) {
    headers_.emplace_back("authorization", "Bearer " + options_.api_key);
    headers_.emplace_back("x-api-key", options_.api_key);
  }
  thread_ = std::thread([this] { run(); });
}

HealthMonitor::~HealthMonitor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const auto& exchange : in_flight_) exchange->cancel();
  }
  wake_.notify_all();
  done_.notify_all();
  thread_.join();
}

void HealthMonitor::check_now() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = started_ + 1;
  requested_ = true;
  wake_.notify_all();
  done_.wait(lock, [&] { return finished_ >= target || stopping_; });
}

std::uint64_t HealthMonitor::rounds() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

void HealthMonitor::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    ++started_;
    requested_ = false;
    lock.unlock();
    round();
    lock.lock();
    ++finished_;
    done_.notify_all();
    wake_.wait_for(lock, options_.interval, [&] { return stopping_ || requested_; });
  }
}

void HealthMonitor::round() {
  const std::vector<UpstreamUrl>& upstreams = pool_.upstreams();
  std::vector<HttpClient::PendingGet> health, metrics;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    for (const UpstreamUrl& url : upstreams) {
      health.push_back(client_.get_async(url, std::string(kHealthTarget), options_.timeout, headers_));
      metrics.push_back(client_.get_async(url, std::string(kMetricsTarget), options_.timeout, headers_));
      in_flight_.push_back(health.back().exchange);
      in_flight_.push_back(metrics.back().exchange);
    }
  }
  // Each GET ends by its own deadline (or at once when cancelled), so these waits are bounded.
  std::vector<Result<HttpClient::Got>> health_results, metrics_results;
  for (auto& pending : health) health_results.push_back(pending.result.get());
  for (auto& pending : metrics) metrics_results.push_back(pending.result.get());
  {
    std::lock_guard lock(mutex_);
    in_flight_.clear();
    if (stopping_) return;  // a cancelled round says nothing about the upstreams
  }

  for (std::size_t i = 0; i < upstreams.size(); ++i) {
    const Result<HttpClient::Got>& h = health_results[i];
    const bool up = h.ok() && ((h->status >= 200 && h->status < 300) || h->status == 404);
    std::optional<UpstreamLoad> load;
    const Result<HttpClient::Got>& m = metrics_results[i];
    if (up && m.ok() && m->status == 200) load = load_from_metrics(m->body);
    pool_.health_checked(i, up, load);

    if (options_.log && up != reported_up_[i]) {
      if (up) {
        options_.log("upstream " + upstreams[i].text() + " is up");
      } else {
        options_.log(h.ok() ? "upstream " + upstreams[i].text() + " is down: /health answered " +
                                  std::to_string(h->status)
                            : h.error().message + " (marked down)");
      }
    }
    reported_up_[i] = up;
  }
}

}  // namespace pensieve::upstream
