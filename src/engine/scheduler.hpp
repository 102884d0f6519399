// engine/scheduler: runs every generation on its own thread, so HTTP threads never wait on
// compute. Up to `parallel` jobs run at once, each in a slot with its own sequence; jobs beyond
// wait in a bounded queue, and beyond that submit() refuses (the API turns that into a 529).
//
// Each loop iteration is one batched forward pass over the running jobs (continuous batching):
// one token for every job that is generating, plus one chunk of prompt tokens (the earliest
// admitted prompt's, and the next's where one ends inside the chunk), so a long prompt delays the
// others' next tokens by one chunk at most and every weight read serves all the streams.
// Cancellation is checked before each step.
//
// A finished job's sequence goes to the prefix cache (engine/prefix_cache); a new job shares the
// longest prefix of its prompt that any cached or running sequence holds and computes only the
// rest (Claude Code resends the whole conversation each turn), or reads a longer one from the
// prompt store on disk. With a backend whose sequences draw on a shared pool of KV blocks, a job
// is admitted only when the blocks its prompt and max_tokens may need can be had — free, or freed
// by dropping cached sequences, least recently used first — so a running job never runs out; a
// request the whole pool cannot hold is refused at submit().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/backend.hpp"
#include "engine/generation.hpp"
#include "engine/prefix_cache.hpp"
#include "engine/prompt_store.hpp"

namespace pensieve::engine {

struct SchedulerOptions {
  std::size_t parallel = 4;       // slots: generations computed at once
  std::size_t max_queued = 32;    // jobs waiting for a slot before submit() refuses
  std::size_t prompt_chunk = 256; // prompt tokens per step, so long prompts do not starve others
  // When set (and outliving the scheduler): prompt caches on disk. An admitted prompt that
  // starts with a saved prefix longer than any sequence in memory holds loads it; at shutdown,
  // and when asked (save_prompt_cache), the cached sequences are saved.
  PromptStore* prompt_store = nullptr;
  // When set: a line now and then while a long prompt is computed (Claude Code's first request is
  // 20k tokens, minutes on a small machine), at most one per progress_interval per job, and one
  // when such a prompt is done.
  std::function<void(const std::string&)> log = nullptr;
  std::chrono::milliseconds progress_interval{5000};
};

// A generation holding a slot, as the memory guard's emergency policy sees it.
struct RunningJob {
  std::uint64_t id = 0;
  std::chrono::steady_clock::time_point started_at{};
  std::int64_t tokens = 0;  // prompt + max_tokens: what its cache may grow to
};

struct SchedulerStats {
  std::size_t active = 0;
  // Jobs waiting for a slot: those beyond the free slots, or all of them while the first waits
  // for KV blocks. A job submitted during a step with a slot free for it only waits for the step
  // to end, and is not counted: a balancer reading this (an upstream front) would take it for a
  // full server.
  std::size_t queued = 0;
  std::size_t slots = 0;
  std::uint64_t finished = 0;  // jobs ended (any reason) since start
  // The prefix cache: tokens held now (whose cache a next job may reuse), and since start the
  // prompt tokens admitted jobs found there and those they had to compute.
  std::uint64_t cached_tokens = 0;
  std::uint64_t prompt_tokens_reused = 0;
  std::uint64_t prompt_tokens_computed = 0;
  // Of the reused, those read from the prompt store; and what the store holds now.
  std::uint64_t prompt_tokens_loaded = 0;
  std::uint64_t stored_prefixes = 0;
  std::uint64_t stored_bytes = 0;
  // The KV pool (block_tokens 0 without one) and the cached sequences in it.
  KvPoolStats pool;
  std::uint64_t cached_sequences = 0;
};

// How much of the prefix cache the memory guard wants given back.
enum class CacheRelief { kShrink, kDrop };

class Scheduler {
 public:
  // Checks that the backend can make a sequence and starts the thread.
  static Result<std::unique_ptr<Scheduler>> create(Backend& backend, SchedulerOptions options);
  ~Scheduler();  // shutdown()

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a generation. kResourceExhausted when the queue is full; kInvalidArgument when the
  // prompt is empty or leaves no room in the context (a guard: callers check the fit first);
  // kCancelled after shutdown().
  Result<std::shared_ptr<Job>> submit(GenerationRequest request, std::shared_ptr<GenerationObserver> observer);

  // Stops the thread; running and queued jobs finish as kCancelled, then the cached sequences are
  // saved to the prompt store if there is one. Idempotent.
  void shutdown();
  // Asks the scheduler thread to save the cached sequences to the prompt store now.
  void save_prompt_cache();
  // Asks the scheduler thread to give back cache memory before its next step: kShrink drops the
  // least recently used half of the cached sequences, kDrop all of them (running jobs keep
  // theirs; what they share stays).
  void relieve_memory(CacheRelief relief);

  SchedulerStats stats() const;
  std::vector<RunningJob> running() const;
  // Cancels a running or queued job by id (emergency shedding), telling its listener `why`;
  // false when it is not known.
  bool cancel(std::uint64_t id, std::string why);
  std::size_t context_length() const { return backend_.context_length(); }

 private:
  struct Work;
  struct Slot;

  Scheduler(Backend& backend, SchedulerOptions options);
  void run();
  void admit_queued();
  Result<bool> admit(const Work& work, Slot& slot);
  std::size_t blocks_for(std::size_t tokens) const;
  std::size_t outstanding_blocks() const;
  bool make_room(std::size_t blocks);
  void load_stored_prefixes();
  void save_to_store();
  void apply_relief();
  void step();
  void log_prompt_progress(Slot& slot);
  void accept_token(Slot& slot, std::int32_t token);
  void finish(Slot& slot, FinishReason reason, std::optional<Error> error = std::nullopt);
  void finish_unstarted(Work& work, std::optional<Error> error = std::nullopt);
  void prefix_settled(Slot& slot);  // with mutex_ held
  void update_cache_figures();  // with mutex_ held
  void wake();

  Backend& backend_;
  SchedulerOptions options_;
  std::vector<std::unique_ptr<Slot>> slots_;
  // The current step's batch (scheduler thread only): its items, the slot of each, and the
  // logits rows of those that want them, one after another.
  std::vector<BatchItem> items_;
  std::vector<Slot*> stepped_;
  std::vector<float> step_logits_;
  std::vector<Slot*> reading_;  // the step's slots still reading their prompt

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Work>> queue_;
  bool queue_waits_for_blocks_ = false;  // the first queued job found too few KV blocks free
  std::size_t active_ = 0;
  std::uint64_t next_id_ = 1;
  std::uint64_t admissions_ = 0;
  std::uint64_t cached_tokens_ = 0;  // the prefix cache's, as of the last admission, step or finish
  std::uint64_t prompt_tokens_reused_ = 0;
  std::uint64_t prompt_tokens_computed_ = 0;
  std::uint64_t prompt_tokens_loaded_ = 0;
  std::uint64_t stored_prefixes_ = 0;
  std::uint64_t stored_bytes_ = 0;
  bool save_requested_ = false;
  std::optional<CacheRelief> relief_;  // asked for, not yet applied
  PrefixCache cache_;                  // scheduler thread, and under mutex_ while admitting
  std::uint64_t cached_sequences_ = 0;
  KvPoolStats pool_;  // as of the last admission, step or finish
  std::uint64_t finished_ = 0;
  struct Running {
    RunningJob info;
    std::weak_ptr<Job> job;
  };
  std::map<std::uint64_t, Running> running_;  // admitted jobs by id
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pensieve::engine
