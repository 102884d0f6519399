// memory/sampler: a background thread that takes a reading every interval (200 ms by default),
// classifies it into a tier and publishes an immutable snapshot. Readers on the request path
// load the latest snapshot with one atomic shared_ptr load: no mutex, never blocked by a
// refresh in progress.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "memory/metrics.hpp"
#include "memory/reader.hpp"
#include "memory/snapshot.hpp"
#include "memory/tiers.hpp"

namespace pensieve::memory {

class MemorySampler {
 public:
  using Listener = std::function<void(const MemorySnapshot&)>;

  // Takes the first reading at once, so latest() is never null. `metrics` may be null.
  MemorySampler(MemoryReader reader, ThresholdConfig thresholds, std::chrono::milliseconds interval,
                MemoryMetrics* metrics = nullptr);
  ~MemorySampler();
  MemorySampler(const MemorySampler&) = delete;
  MemorySampler& operator=(const MemorySampler&) = delete;

  void start();  // idempotent
  void stop();   // joins the thread; idempotent; the last snapshot stays readable

  std::shared_ptr<const MemorySnapshot> latest() const { return latest_.load(std::memory_order_acquire); }

  // Takes a reading now on the calling thread (tests, and the request after a failed admit
  // may want the freshest figure) and publishes it. Serialized with the background thread.
  std::shared_ptr<const MemorySnapshot> refresh_now();

  // Called on the thread that made each new snapshot (keep it short): the engine checks for an
  // emergency here. Set before start().
  void set_listener(Listener listener);

  std::chrono::milliseconds interval() const { return interval_; }

 private:
  void run();
  std::shared_ptr<const MemorySnapshot> refresh_locked();

  MemoryReader reader_;
  ThresholdConfig threshold_config_;
  std::chrono::milliseconds interval_;
  MemoryMetrics* metrics_;
  TierTracker tracker_;
  std::uint64_t sequence_ = 0;
  Listener listener_;

  std::mutex refresh_mutex_;  // reader_, tracker_, sequence_: sampler thread vs refresh_now()
  std::atomic<std::shared_ptr<const MemorySnapshot>> latest_;

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pensieve::memory
