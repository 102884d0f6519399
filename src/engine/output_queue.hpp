// engine/output_queue: one generation's output on its way from the scheduler's thread to the
// thread that serves the request. The scheduler side only appends under a short lock and wakes the
// reader, so the compute thread never waits on text or JSON; the reader swaps the queued ids out,
// so the two sides trade buffers and a token costs no allocation once both have grown.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "engine/generation.hpp"

namespace pensieve::engine {

class OutputQueue final : public GenerationObserver {
 public:
  // What one take() moved out, in the order it happened.
  struct Taken {
    std::optional<std::size_t> cached;       // the prompt's cached tokens: once, before any token
    std::vector<std::int32_t> tokens;        // generated ids since the last take
    std::optional<GenerationResult> result;  // once, last
  };

  // Replaces `taken` with what is new, waiting up to `wait` when nothing is.
  void take(Taken& taken, std::chrono::milliseconds wait);
  // Asks the scheduler to end the generation at its next step (a stop sequence, a complete call).
  void stop() { stop_.store(true, std::memory_order_relaxed); }
  // Called under the queue's lock whenever something new arrives, so that a reader need not wait
  // in take(): it must only post work elsewhere, never call back.
  void set_wake(std::function<void()> wake);

  // GenerationObserver (scheduler thread): queue and wake, nothing more.
  void on_prompt_cached(std::size_t tokens) override;
  bool wanted() override { return !stop_.load(std::memory_order_relaxed); }
  bool on_token(std::int32_t token) override;
  void on_finished(const GenerationResult& result) override;

 private:
  bool ready() const {
    return (cached_ && !cached_taken_) || !queued_.empty() || (result_ && !result_taken_);
  }
  void notify();  // under mutex_

  std::mutex mutex_;
  std::condition_variable cv_;
  std::function<void()> wake_;
  std::optional<std::size_t> cached_;
  bool cached_taken_ = false;
  std::vector<std::int32_t> queued_;
  std::optional<GenerationResult> result_;
  bool result_taken_ = false;
  std::atomic<bool> stop_{false};
};

}  // namespace pensieve::engine
