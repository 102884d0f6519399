#include "engine/output_queue.hpp"

namespace pensieve::engine {

void OutputQueue::take(Taken& taken, std::chrono::milliseconds wait) {
  taken.cached.reset();
  taken.tokens.clear();
  taken.result.reset();
  std::unique_lock lock(mutex_);
  if (!ready() && wait.count() > 0) cv_.wait_for(lock, wait, [this] { return ready(); });
  if (cached_ && !cached_taken_) {
    taken.cached = cached_;
    cached_taken_ = true;
  }
  taken.tokens.swap(queued_);
  if (result_ && !result_taken_) {
    taken.result = result_;
    result_taken_ = true;
  }
}

void OutputQueue::set_wake(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  wake_ = std::move(wake);
}

void OutputQueue::notify() {
  if (wake_) wake_();
}

void OutputQueue::on_prompt_cached(std::size_t tokens) {
  {
    std::lock_guard lock(mutex_);
    cached_ = tokens;
    notify();
  }
  cv_.notify_all();
}

bool OutputQueue::on_token(std::int32_t token) {
  {
    std::lock_guard lock(mutex_);
    queued_.push_back(token);
    notify();
  }
  cv_.notify_all();
  return wanted();
}

void OutputQueue::on_finished(const GenerationResult& result) {
  {
    std::lock_guard lock(mutex_);
    result_ = result;
    notify();
  }
  cv_.notify_all();
}

}  // namespace pensieve::engine
