// engine/generation: one generation job as the scheduler sees it — token ids in, token ids out
// through an observer. Text, stop strings and tool calls are the API layer's business.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "engine/token_constraint.hpp"
#include "sampling/sampler.hpp"

namespace pensieve::engine {

struct GenerationRequest {
  std::vector<std::int32_t> prompt;
  sampling::SamplingParams sampling;
  std::int64_t max_tokens = 1;
  std::vector<std::int32_t> end_tokens;  // end the generation; never passed to the observer
  std::shared_ptr<TokenConstraint> constraint;  // optional: what may come next (see token_constraint)
  std::string label;                            // names the generation in log lines (the HTTP request's id)
};

enum class FinishReason {
  kEndOfGeneration,  // the model produced an end token
  kMaxTokens,        // max_tokens reached
  kStopped,          // the observer asked to stop (stop sequence, tool call complete, …)
  kContextFull,      // the sequence reached the context length
  kCancelled,        // cancel() or shutdown; `error` says why when the canceller did
  kError,            // the forward pass failed
};
const char* to_string(FinishReason reason);

// Why a job refused or cancelled because the scheduler is stopping ends; the API layer refuses new
// work with the same words while the server drains, so a client reads one reason for both.
inline constexpr const char* kShuttingDown = "the server is shutting down";

struct GenerationResult {
  FinishReason reason = FinishReason::kCancelled;
  std::int64_t prompt_tokens = 0;
  std::int64_t cached_prompt_tokens = 0;  // of prompt_tokens, found cached (memory or disk), not computed
  // Of prompt_tokens, computed by this job and kept in the prefix cache for later jobs (every
  // computed token is kept unless the step that computed it failed).
  std::int64_t cache_written_prompt_tokens = 0;
  std::int64_t output_tokens = 0;  // tokens passed to on_token
  std::optional<Error> error;      // for kError; for kCancelled, why (absent when the client left)
  // Seconds spent waiting for a slot, computing the prompt (until its last token's logits), and
  // generating after that; zero for what did not happen.
  double queue_seconds = 0;
  double prompt_seconds = 0;
  double generation_seconds = 0;
};

// Called on the scheduler's thread: implementations must be quick and must not block.
class GenerationObserver {
 public:
  virtual ~GenerationObserver() = default;
  // Once, before the prompt's first chunk is computed: `tokens` of the prompt were found cached
  // (in memory or on disk); the rest will be computed.
  virtual void on_prompt_cached(std::size_t /*tokens*/) {}
  // A prompt chunk was processed; `done` of `total` prompt tokens are in the cache.
  virtual void on_prompt_progress(std::size_t /*done*/, std::size_t /*total*/) {}
  // Asked before each step (prompt chunk or decoded token): false ends the generation as
  // cancelled at once — a client that hung up costs no further step.
  virtual bool wanted() { return true; }
  // A generated token; return false to stop the generation after it.
  virtual bool on_token(std::int32_t token) = 0;
  // Exactly once, last.
  virtual void on_finished(const GenerationResult& result) = 0;
};

// The caller's handle: cancel from any thread; the scheduler notices before its next step.
class Job {
 public:
  // `why` reaches whoever still listens (GenerationResult::error); the first reason given stays.
  void cancel(std::string why = {});
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  std::string why() const;
  std::uint64_t id() const { return id_; }

 private:
  friend class Scheduler;
  std::uint64_t id_ = 0;
  std::atomic<bool> cancelled_{false};
  mutable std::mutex wake_mutex_;
  std::function<void()> wake_;  // set by the scheduler; cleared when the job finishes
  std::string why_;             // guarded by wake_mutex_
};

}  // namespace pensieve::engine
