#include "memory/sampler.hpp"

namespace pensieve::memory {

MemorySampler::MemorySampler(MemoryReader reader, ThresholdConfig thresholds,
                             std::chrono::milliseconds interval, MemoryMetrics* metrics)
    : reader_(std::move(reader)),
      threshold_config_(thresholds),
      interval_(interval.count() > 0 ? interval : std::chrono::milliseconds(1)),
      metrics_(metrics) {
  refresh_now();
}

MemorySampler::~MemorySampler() {
  stop();
}

void MemorySampler::set_listener(Listener listener) {
  std::lock_guard lock(refresh_mutex_);
  listener_ = std::move(listener);
}

void MemorySampler::start() {
  std::lock_guard lock(wake_mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void MemorySampler::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MemorySampler::run() {
  std::unique_lock lock(wake_mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) break;
    lock.unlock();
    refresh_now();
    lock.lock();
  }
}

std::shared_ptr<const MemorySnapshot> MemorySampler::refresh_now() {
  std::lock_guard lock(refresh_mutex_);
  return refresh_locked();
}

std::shared_ptr<const MemorySnapshot> MemorySampler::refresh_locked() {
  auto snapshot = std::make_shared<MemorySnapshot>();
  snapshot->reading = reader_.read();
  snapshot->sequence = ++sequence_;
  const MemoryReading& r = snapshot->reading;
  // Thresholds in percent follow the effective total; with no reading the last ones stand.
  if (r.available_known) {
    snapshot->thresholds = resolve(threshold_config_, r.total_bytes);
  } else if (auto previous = latest_.load(std::memory_order_acquire)) {
    snapshot->thresholds = previous->thresholds;
  } else {
    snapshot->thresholds = resolve(threshold_config_, 0);
  }
  const std::uint64_t transitions_before = tracker_.transitions();
  snapshot->tier = tracker_.update(r.available_known ? std::optional(r.available_bytes) : std::nullopt,
                                   snapshot->thresholds);
  snapshot->tier_transitions = tracker_.transitions();
  if (metrics_) {
    metrics_->samples.fetch_add(1, std::memory_order_relaxed);
    if (!r.available_known) metrics_->failed_samples.fetch_add(1, std::memory_order_relaxed);
    if (tracker_.transitions() != transitions_before) metrics_->count_transition_into(snapshot->tier);
  }
  std::shared_ptr<const MemorySnapshot> published = std::move(snapshot);
  latest_.store(published, std::memory_order_release);
  if (listener_) listener_(*published);
  return published;
}

}  // namespace pensieve::memory
