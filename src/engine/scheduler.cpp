#include "engine/scheduler.hpp"

#include <algorithm>
#include <chrono>

namespace pensieve::engine {

const char* to_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::kEndOfGeneration: return "end_of_generation";
    case FinishReason::kMaxTokens: return "max_tokens";
    case FinishReason::kStopped: return "stopped";
    case FinishReason::kContextFull: return "context_full";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "unknown";
}

void Job::cancel(std::string why) {
  std::lock_guard lock(wake_mutex_);
  if (why_.empty()) why_ = std::move(why);
  cancelled_.store(true, std::memory_order_relaxed);
  if (wake_) wake_();
}

std::string Job::why() const {
  std::lock_guard lock(wake_mutex_);
  return why_;
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Why a cancelled job ended, when whoever cancelled it said.
std::optional<Error> cancellation_error(const Job& job) {
  std::string why = job.why();
  if (why.empty()) return std::nullopt;
  return make_error(ErrorCode::kCancelled, std::move(why));
}

}  // namespace

struct Scheduler::Work {
  GenerationRequest request;
  std::shared_ptr<GenerationObserver> observer;
  std::shared_ptr<Job> job;
  Clock::time_point submitted_at = Clock::now();
};

struct Scheduler::Slot {
  std::unique_ptr<Sequence> sequence;
  // The tokens whose cache the sequence holds, in order: kept after a job ends, so that the next
  // job whose prompt starts the same way computes only the rest.
  std::vector<std::int32_t> cached;
  std::uint64_t last_used = 0;  // admission count when it last took a job
  std::unique_ptr<Work> work;  // null when free
  std::optional<sampling::Sampler> sampler;
  std::size_t prompt_done = 0;
  std::size_t reused = 0;  // prompt tokens the job found cached
  bool try_store = false;  // admitted; the prompt store may hold a longer prefix than the slot
  std::int32_t last_token = -1;  // sampled, not yet in the cache
  std::int64_t output_tokens = 0;
  Clock::time_point admitted_at{};
  std::optional<Clock::time_point> prompt_done_at;  // when the prompt's last logits came
};

Scheduler::Scheduler(Backend& backend, SchedulerOptions options) : backend_(backend), options_(options) {}

Result<std::unique_ptr<Scheduler>> Scheduler::create(Backend& backend, SchedulerOptions options) {
  if (options.parallel == 0) return make_error(ErrorCode::kInvalidArgument, "parallel must be at least 1");
  if (options.prompt_chunk == 0) options.prompt_chunk = 256;
  std::unique_ptr<Scheduler> s(new Scheduler(backend, options));
  for (std::size_t i = 0; i < options.parallel; ++i) {
    auto seq = backend.create_sequence();
    if (!seq) return seq.error().with_context("creating slot " + std::to_string(i));
    auto slot = std::make_unique<Slot>();
    slot->sequence = std::move(*seq);
    s->slots_.push_back(std::move(slot));
  }
  s->step_logits_.resize(options.parallel * static_cast<std::size_t>(backend.vocab_size()));
  if (options.prompt_store != nullptr) {
    s->stored_prefixes_ = options.prompt_store->entries();
    s->stored_bytes_ = options.prompt_store->bytes();
  }
  s->thread_ = std::thread([p = s.get()] { p->run(); });
  return s;
}

Scheduler::~Scheduler() { shutdown(); }

void Scheduler::wake() { cv_.notify_all(); }

Result<std::shared_ptr<Job>> Scheduler::submit(GenerationRequest request,
                                               std::shared_ptr<GenerationObserver> observer) {
  if (request.prompt.empty()) return make_error(ErrorCode::kInvalidArgument, "the prompt is empty");
  if (request.prompt.size() >= backend_.context_length()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "prompt is too long: " + std::to_string(request.prompt.size()) + " tokens > " +
                          std::to_string(backend_.context_length() - 1) + " maximum");
  }
  if (request.max_tokens < 1) request.max_tokens = 1;
  auto job = std::make_shared<Job>();
  {
    std::lock_guard lock(job->wake_mutex_);
    job->wake_ = [this] { wake(); };
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return make_error(ErrorCode::kCancelled, kShuttingDown);
    const std::size_t free_slots = slots_.size() - active_;
    if (queue_.size() >= free_slots + options_.max_queued) {
      return make_error(ErrorCode::kResourceExhausted,
                        "all " + std::to_string(slots_.size()) + " slots are busy and " +
                            std::to_string(options_.max_queued) + " requests are already waiting");
    }
    job->id_ = next_id_++;
    queue_.push_back(std::make_unique<Work>(Work{std::move(request), std::move(observer), job}));
  }
  cv_.notify_all();
  return job;
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mutex_);
  return {active_,          queue_.size(),         slots_.size(),           finished_,
          cached_tokens_,   prompt_tokens_reused_, prompt_tokens_computed_, prompt_tokens_loaded_,
          stored_prefixes_, stored_bytes_};
}

void Scheduler::save_prompt_cache() {
  {
    std::lock_guard lock(mutex_);
    save_requested_ = true;
  }
  cv_.notify_all();
}

std::vector<RunningJob> Scheduler::running() const {
  std::lock_guard lock(mutex_);
  std::vector<RunningJob> out;
  out.reserve(running_.size());
  for (const auto& [id, r] : running_) out.push_back(r.info);
  return out;
}

bool Scheduler::cancel(std::uint64_t id, std::string why) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mutex_);
    if (auto it = running_.find(id); it != running_.end()) job = it->second.job.lock();
    for (const auto& w : queue_) {
      if (!job && w->job->id() == id) job = w->job;
    }
  }
  if (!job) return false;
  job->cancel(std::move(why));
  return true;
}

void Scheduler::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Moves queued jobs into free slots; jobs cancelled while waiting finish right away.
// Called with mutex_ held.
void Scheduler::admit_queued() {
  for (auto it = queue_.begin(); it != queue_.end();) {
    if ((*it)->job->cancelled()) {
      auto work = std::move(*it);
      it = queue_.erase(it);
      ++finished_;
      finish_unstarted(*work);
      continue;
    }
    ++it;
  }
  while (!queue_.empty() && active_ < slots_.size()) {
    const auto& prompt = queue_.front()->request.prompt;
    // The free slot holding the longest prefix of the prompt; among equals, the one unused longest.
    Slot* best = nullptr;
    std::size_t best_common = 0;
    for (auto& candidate : slots_) {
      if (candidate->work) continue;
      const auto& cached = candidate->cached;
      const auto limit = static_cast<std::ptrdiff_t>(std::min(cached.size(), prompt.size()));
      const auto differs = std::mismatch(cached.begin(), cached.begin() + limit, prompt.begin()).first;
      const auto common = static_cast<std::size_t>(differs - cached.begin());
      const bool older = common == best_common && best != nullptr && candidate->last_used < best->last_used;
      if (best == nullptr || common > best_common || older) {
        best = candidate.get();
        best_common = common;
      }
    }
    Slot* slot = best;
    slot->work = std::move(queue_.front());
    queue_.pop_front();
    ++active_;
    slot->last_used = ++admissions_;
    slot->admitted_at = Clock::now();
    slot->prompt_done_at.reset();
    {
      const auto& w = *slot->work;
      RunningJob info{w.job->id(), std::chrono::steady_clock::now(),
                      static_cast<std::int64_t>(w.request.prompt.size()) + w.request.max_tokens};
      running_[info.id] = Running{info, w.job};
    }
    const auto& req = slot->work->request;
    // At least the prompt's last token is computed again: its logits give the first output token.
    const std::size_t reused = std::min(best_common, req.prompt.size() - 1);
    slot->sequence->truncate(reused);
    slot->cached.resize(reused);
    cached_tokens_ = tokens_in_slot_caches();
    // With a store, the counts wait for load_stored_prefixes: it may find more.
    slot->try_store = options_.prompt_store != nullptr;
    if (!slot->try_store) {
      prompt_tokens_reused_ += reused;
      prompt_tokens_computed_ += req.prompt.size() - reused;
    }
    slot->prompt_done = reused;
    slot->reused = reused;
    slot->last_token = -1;
    slot->output_tokens = 0;
    slot->sampler.emplace(req.sampling, backend_.vocab_size());
    const std::size_t window = static_cast<std::size_t>(std::max(req.sampling.penalty_window, 0));
    const std::size_t from = req.prompt.size() > window ? req.prompt.size() - window : 0;
    for (std::size_t i = from; i < req.prompt.size(); ++i) slot->sampler->accept(req.prompt[i]);
  }
}

std::uint64_t Scheduler::tokens_in_slot_caches() const {
  std::uint64_t tokens = 0;
  for (const auto& slot : slots_) tokens += slot->cached.size();
  return tokens;
}

void Scheduler::finish_unstarted(Work& work) {
  {
    std::lock_guard lock(work.job->wake_mutex_);
    work.job->wake_ = nullptr;
  }
  GenerationResult r;
  r.reason = FinishReason::kCancelled;
  r.prompt_tokens = static_cast<std::int64_t>(work.request.prompt.size());
  r.queue_seconds = seconds_between(work.submitted_at, Clock::now());
  r.error = cancellation_error(*work.job);
  work.observer->on_finished(r);
}

void Scheduler::run() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (active_ == 0) {
        // Idle: sleep until work arrives. The timeout lets cancelled queued jobs finish promptly.
        cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_ || !queue_.empty(); });
      }
      if (stopping_) break;
      admit_queued();
    }
    if (options_.prompt_store != nullptr) {
      load_stored_prefixes();
      bool save = false;
      {
        std::lock_guard lock(mutex_);
        std::swap(save, save_requested_);
      }
      if (save) save_to_store(true);
    }
    step();
  }

  // Shutdown: everything still running or waiting ends as cancelled.
  for (auto& slot : slots_) {
    if (!slot->work) continue;
    slot->work->job->cancel(kShuttingDown);
    finish(*slot, FinishReason::kCancelled);
  }
  std::deque<std::unique_ptr<Work>> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
    finished_ += left.size();
  }
  for (auto& work : left) {
    work->job->cancel(kShuttingDown);
    finish_unstarted(*work);
  }
  if (options_.prompt_store != nullptr) save_to_store(false);
}

// Newly admitted jobs whose prompt the store holds more of than their slot: that prefix is read
// into the slot (on this thread, outside the lock: a long prefix takes a moment to read).
void Scheduler::load_stored_prefixes() {
  PromptStore& store = *options_.prompt_store;
  for (auto& slot : slots_) {
    if (!slot->work || !slot->try_store) continue;
    slot->try_store = false;
    const auto& prompt = slot->work->request.prompt;
    std::size_t loaded = 0;
    if (const auto match = store.best_match(prompt); match && match->tokens > slot->reused) {
      if (store.load(*match, *slot->sequence)) {
        loaded = match->tokens;
        slot->cached.assign(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(loaded));
        slot->prompt_done = slot->reused = loaded;
      } else {  // the store reported the bad file; the slot starts from nothing
        slot->cached.clear();
        slot->prompt_done = slot->reused = 0;
      }
    }
    std::lock_guard lock(mutex_);
    prompt_tokens_reused_ += slot->reused;
    prompt_tokens_computed_ += prompt.size() - slot->reused;
    prompt_tokens_loaded_ += loaded;
    cached_tokens_ = tokens_in_slot_caches();
    stored_prefixes_ = store.entries();
    stored_bytes_ = store.bytes();
  }
}

// The slots' caches into the store, least recently used first, so that the budget keeps the
// most recent.
void Scheduler::save_to_store(bool idle_only) {
  PromptStore& store = *options_.prompt_store;
  std::vector<Slot*> order;
  for (auto& slot : slots_) {
    if (!(idle_only && slot->work)) order.push_back(slot.get());
  }
  std::sort(order.begin(), order.end(),
            [](const Slot* a, const Slot* b) { return a->last_used < b->last_used; });
  for (Slot* slot : order)
    (void)store.save(slot->cached, *slot->sequence);  // failures are reported by the store
  std::lock_guard lock(mutex_);
  stored_prefixes_ = store.entries();
  stored_bytes_ = store.bytes();
}

// One forward pass for every active slot: the next token of each slot that is generating, and
// the next chunk of the prompt of the slot admitted first among those still reading theirs.
void Scheduler::step() {
  for (auto& slot : slots_) {
    if (!slot->work) continue;
    if (slot->work->job->cancelled() || !slot->work->observer->wanted())
      finish(*slot, FinishReason::kCancelled);
  }
  const std::size_t vocab = static_cast<std::size_t>(backend_.vocab_size());
  items_.clear();
  stepped_.clear();
  Slot* reading = nullptr;
  for (auto& slot : slots_) {
    if (!slot->work) continue;
    if (slot->prompt_done < slot->work->request.prompt.size()) {
      if (reading == nullptr || slot->last_used < reading->last_used) reading = slot.get();
      continue;
    }
    const std::span<float> logits(step_logits_.data() + items_.size() * vocab, vocab);
    items_.push_back({slot->sequence.get(), std::span(&slot->last_token, 1), logits});
    stepped_.push_back(slot.get());
  }
  const std::size_t room = backend_.batch_capacity() - std::min(backend_.batch_capacity(), items_.size());
  if (reading != nullptr && room > 0) {
    const auto& prompt = reading->work->request.prompt;
    const std::size_t n = std::min({options_.prompt_chunk, prompt.size() - reading->prompt_done, room});
    const bool last = reading->prompt_done + n == prompt.size();
    const std::span<float> logits(step_logits_.data() + items_.size() * vocab, last ? vocab : 0);
    items_.push_back({reading->sequence.get(), std::span(prompt).subspan(reading->prompt_done, n), logits});
    stepped_.push_back(reading);
  }
  if (items_.empty()) return;

  if (auto status = backend_.forward_batch(items_); !status) {
    for (Slot* slot : stepped_) finish(*slot, FinishReason::kError, status.error());
    return;
  }
  for (std::size_t i = 0; i < items_.size(); ++i) {
    Slot& slot = *stepped_[i];
    const BatchItem& item = items_[i];
    slot.cached.insert(slot.cached.end(), item.tokens.begin(), item.tokens.end());
    Work& work = *slot.work;
    if (slot.prompt_done < work.request.prompt.size()) {
      slot.prompt_done += item.tokens.size();
      work.observer->on_prompt_progress(slot.prompt_done, work.request.prompt.size());
      if (item.last_logits.empty()) continue;
      slot.prompt_done_at = Clock::now();
    }
    accept_token(slot, slot.sampler->sample(item.last_logits));
  }
}

void Scheduler::accept_token(Slot& slot, std::int32_t token) {
  Work& work = *slot.work;
  const auto& ends = work.request.end_tokens;
  if (std::find(ends.begin(), ends.end(), token) != ends.end()) {
    return finish(slot, FinishReason::kEndOfGeneration);
  }
  ++slot.output_tokens;
  slot.sampler->accept(token);
  if (!work.observer->on_token(token)) return finish(slot, FinishReason::kStopped);
  if (slot.output_tokens >= work.request.max_tokens) return finish(slot, FinishReason::kMaxTokens);
  // The sampled token still has to enter the cache before the next one can be computed.
  if (slot.sequence->size() + 1 > backend_.context_length()) return finish(slot, FinishReason::kContextFull);
  slot.last_token = token;
}

void Scheduler::finish(Slot& slot, FinishReason reason, std::optional<Error> error) {
  std::unique_ptr<Work> work = std::move(slot.work);
  {
    std::lock_guard lock(work->job->wake_mutex_);
    work->job->wake_ = nullptr;
  }
  GenerationResult r;
  r.reason = reason;
  r.prompt_tokens = static_cast<std::int64_t>(work->request.prompt.size());
  r.output_tokens = slot.output_tokens;
  r.cached_prompt_tokens = static_cast<std::int64_t>(slot.reused);
  const Clock::time_point now = Clock::now();
  r.queue_seconds = seconds_between(work->submitted_at, slot.admitted_at);
  r.prompt_seconds = seconds_between(slot.admitted_at, slot.prompt_done_at.value_or(now));
  if (slot.prompt_done_at) r.generation_seconds = seconds_between(*slot.prompt_done_at, now);
  r.error = std::move(error);
  if (reason == FinishReason::kCancelled && !r.error) r.error = cancellation_error(*work->job);
  // The cache stays for the next job with the same prefix, unless a failed step left it unknown.
  if (reason == FinishReason::kError) {
    slot.sequence->clear();
    slot.cached.clear();
  }
  slot.sampler.reset();
  {
    std::lock_guard lock(mutex_);
    --active_;
    ++finished_;
    running_.erase(work->job->id());
    cached_tokens_ = tokens_in_slot_caches();
  }
  work->observer->on_finished(r);
}

}  // namespace pensieve::engine
