#include "engine/scheduler.hpp"

#include <algorithm>
#include <chrono>

#include "engine/token_prefix.hpp"

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

// A prefix saved on disk is read instead of sharing what memory holds only when it gives at least
// this many more tokens: reading costs I/O, and private blocks where shared ones would do.
constexpr std::size_t kStoreGainTokens = 256;

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
  std::unique_ptr<Sequence> sequence;  // the running job's (null when free)
  // The tokens whose cache the sequence holds, in order; with the sequence, they go to the prefix
  // cache when the job ends.
  std::vector<std::int32_t> cached;
  std::uint64_t last_used = 0;  // admission count when it took its job: prompts go first come, first served
  std::unique_ptr<Work> work;   // null when free
  std::optional<sampling::Sampler> sampler;
  std::size_t prompt_done = 0;
  std::size_t reused = 0;           // prompt tokens the job found cached
  std::size_t shared_blocks = 0;    // whole KV blocks it shares with the sequence it reused
  std::size_t reserved_blocks = 0;  // blocks it may take over its life (pool accounting)
  bool try_store = false;  // admitted; the prompt store may hold a longer prefix than was shared
  std::int32_t last_token = -1;  // sampled, not yet in the cache
  std::int64_t output_tokens = 0;
  Clock::time_point admitted_at{};
  std::optional<Clock::time_point> prompt_done_at;  // when the prompt's last logits came
  Clock::time_point progress_logged_at{};           // the job's last prompt progress line
  bool progress_logged = false;                     // whether it has had one
};

Scheduler::Scheduler(Backend& backend, SchedulerOptions options) : backend_(backend), options_(options) {}

Result<std::unique_ptr<Scheduler>> Scheduler::create(Backend& backend, SchedulerOptions options) {
  if (options.parallel == 0) return make_error(ErrorCode::kInvalidArgument, "parallel must be at least 1");
  if (options.prompt_chunk == 0) options.prompt_chunk = 256;
  // A sequence now, so that a backend that cannot make one says so at start-up.
  auto probe = backend.create_sequence();
  if (!probe) return probe.error().with_context("creating a sequence");
  std::unique_ptr<Scheduler> s(new Scheduler(backend, options));
  for (std::size_t i = 0; i < options.parallel; ++i) s->slots_.push_back(std::make_unique<Slot>());
  s->step_logits_.resize(options.parallel * static_cast<std::size_t>(backend.vocab_size()));
  if (options.prompt_store != nullptr) {
    s->stored_prefixes_ = options.prompt_store->entries();
    s->stored_bytes_ = options.prompt_store->bytes();
  }
  s->pool_ = backend.kv_pool();
  s->thread_ = std::thread([p = s.get()] { p->run(); });
  return s;
}

Scheduler::~Scheduler() { shutdown(); }

void Scheduler::wake() { cv_.notify_all(); }

Result<std::shared_ptr<Job>> Scheduler::submit(GenerationRequest request,
                                               std::shared_ptr<GenerationObserver> observer) {
  if (request.prompt.empty()) return make_error(ErrorCode::kInvalidArgument, "the prompt is empty");
  // Whether a request fits is the API layer's decision, made once with the client's numbers
  // (api/messages_service); this guard only keeps a job that no sequence could start out of the
  // queue. A longer max_tokens is the caller's to allow: generation stops at kContextFull.
  if (request.prompt.size() >= backend_.context_length()) {
    return make_error(ErrorCode::kInvalidArgument, "a prompt of " + std::to_string(request.prompt.size()) +
                                                       " tokens leaves no room to generate in a context of " +
                                                       std::to_string(backend_.context_length()));
  }
  if (request.max_tokens < 1) request.max_tokens = 1;
  if (const KvPoolStats pool = backend_.kv_pool(); pool.block_tokens != 0) {
    const std::size_t extent =
        std::min<std::size_t>(request.prompt.size() + static_cast<std::size_t>(request.max_tokens),
                              backend_.context_length());
    if (blocks_for(extent) > pool.total_blocks) {
      return make_error(ErrorCode::kOutOfRange,
                        "the KV cache pool holds " + std::to_string(pool.total_blocks * pool.block_tokens) +
                            " tokens, and this request may need " + std::to_string(extent) + " (a prompt of " +
                            std::to_string(request.prompt.size()) + " tokens and max_tokens " +
                            std::to_string(request.max_tokens) +
                            "); lower max_tokens or give the server a larger --kv-budget");
    }
  }
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
  SchedulerStats s{active_,
                   queue_.size(),
                   slots_.size(),
                   finished_,
                   cached_tokens_,
                   prompt_tokens_reused_,
                   prompt_tokens_computed_,
                   prompt_tokens_loaded_,
                   stored_prefixes_,
                   stored_bytes_,
                   pool_,
                   cached_sequences_};
  // Those a free slot takes at the next step are not waiting for one (unless blocks are short).
  const std::size_t free_slots = slots_.size() - active_;
  if (!queue_waits_for_blocks_) s.queued -= std::min(s.queued, free_slots);
  return s;
}

void Scheduler::relieve_memory(CacheRelief relief) {
  {
    std::lock_guard lock(mutex_);
    if (!relief_ || relief == CacheRelief::kDrop) relief_ = relief;
  }
  cv_.notify_all();
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

std::size_t Scheduler::blocks_for(std::size_t tokens) const {
  const std::size_t bt = backend_.kv_pool().block_tokens;
  return bt == 0 ? 0 : (tokens + bt - 1) / bt;
}

// Blocks the running jobs may still take: what each reserved, less what it holds of its own.
std::size_t Scheduler::outstanding_blocks() const {
  std::size_t blocks = 0;
  for (const auto& slot : slots_) {
    if (!slot->work || !slot->sequence) continue;
    const std::size_t held = slot->sequence->blocks_held();
    const std::size_t own = held - std::min(slot->shared_blocks, held);
    blocks += slot->reserved_blocks - std::min(slot->reserved_blocks, own);
  }
  return blocks;
}

// Drops cached sequences, least recently used first, until `blocks` are free; false when even
// an empty cache leaves too few.
bool Scheduler::make_room(std::size_t blocks) {
  while (backend_.kv_pool().free_blocks < blocks) {
    if (!cache_.drop_oldest()) return false;
  }
  return true;
}

// Moves queued jobs into free slots, first come first served; jobs cancelled while waiting
// finish right away. Called with mutex_ held.
void Scheduler::admit_queued() {
  queue_waits_for_blocks_ = false;
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
    Slot* slot = nullptr;
    for (auto& candidate : slots_) {
      if (!candidate->work) slot = candidate.get();
    }
    auto admitted = admit(*queue_.front(), *slot);
    if (!admitted) {  // no sequence to be had: the job ends here
      auto failed = std::move(queue_.front());
      queue_.pop_front();
      ++finished_;
      finish_unstarted(*failed, admitted.error());
      continue;
    }
    if (!*admitted) {  // waits for KV blocks, and so do those behind it
      queue_waits_for_blocks_ = true;
      break;
    }
    slot->work = std::move(queue_.front());
    queue_.pop_front();
    ++active_;
    slot->last_used = ++admissions_;
    slot->admitted_at = Clock::now();
    slot->progress_logged_at = slot->admitted_at;
    slot->progress_logged = false;
    slot->prompt_done_at.reset();
    const auto& req = slot->work->request;
    running_[slot->work->job->id()] =
        Running{RunningJob{slot->work->job->id(), std::chrono::steady_clock::now(),
                           static_cast<std::int64_t>(req.prompt.size()) + req.max_tokens},
                slot->work->job};
    slot->prompt_done = slot->reused;
    // With a store, the prefix is settled in load_stored_prefixes: it may find more.
    slot->try_store = options_.prompt_store != nullptr;
    if (!slot->try_store) prefix_settled(*slot);
    slot->last_token = -1;
    slot->output_tokens = 0;
    slot->sampler.emplace(req.sampling, backend_.vocab_size());
    const std::size_t window = static_cast<std::size_t>(std::max(req.sampling.penalty_window, 0));
    const std::size_t from = req.prompt.size() > window ? req.prompt.size() - window : 0;
    for (std::size_t i = from; i < req.prompt.size(); ++i) slot->sampler->accept(req.prompt[i]);
  }
  update_cache_figures();
}

// Prepares `slot` for `work`: a sequence sharing the longest prefix of the prompt that a cached
// or running sequence holds, and, with a pool, the blocks the job may need. False (the job keeps
// waiting) when the pool cannot give them yet; an error when no sequence can be made.
Result<bool> Scheduler::admit(const Work& work, Slot& slot) {
  const auto& prompt = work.request.prompt;
  const std::size_t block_tokens = backend_.kv_pool().block_tokens;
  const PrefixCache::Match cached = cache_.longest(prompt);
  const Sequence* source = cached.entry != nullptr ? cached.entry->sequence.get() : nullptr;
  std::size_t common = cached.common;
  bool from_cache = source != nullptr;
  for (const auto& running : slots_) {
    if (!running->work || !running->sequence) continue;
    const std::size_t shared = common_prefix(running->cached, prompt);
    if (shared > common) {
      common = shared;
      source = running->sequence.get();
      from_cache = false;
    }
  }
  // At least the prompt's last token is computed: its logits give the first output token.
  std::size_t reused = std::min(common, prompt.size() - 1);
  // A running sequence still writes into its last block: only whole blocks are taken from it, so
  // it never has to copy a block it shares (a cached one never writes; the sharer copies, counted
  // in its need below).
  if (!from_cache && block_tokens != 0) reused = reused / block_tokens * block_tokens;
  std::size_t need = 0, shared_blocks = 0;
  if (block_tokens != 0) {
    const std::size_t extent = std::min<std::size_t>(
        prompt.size() + static_cast<std::size_t>(work.request.max_tokens), backend_.context_length());
    // The job holds ceil(reused / bt) shared blocks at first; all it may take besides, including a
    // copy of a partly shared last block, is its need. (Counting the partly shared block as shared
    // for outstanding_blocks() overstates the job's remaining need by at most that one block.)
    shared_blocks = blocks_for(reused);
    need = blocks_for(extent) - std::min(blocks_for(extent), reused / block_tokens);
    const KvPoolStats now = backend_.kv_pool();
    // A cached sequence's shared blocks stop being droppable once a running job holds them.
    const std::size_t taken = from_cache ? shared_blocks : 0;
    const std::size_t droppable = now.unpinned_only_blocks - std::min(now.unpinned_only_blocks, taken);
    if (now.free_blocks + droppable < need + outstanding_blocks()) return false;
  }
  auto sequence = backend_.create_sequence();
  if (!sequence) return sequence.error();
  if (reused > 0 && !(*sequence)->share_prefix(*source, reused)) {
    (*sequence)->clear();  // the backend cannot share: computed instead
    need = blocks_for(std::min<std::size_t>(prompt.size() + static_cast<std::size_t>(work.request.max_tokens),
                                            backend_.context_length()));
    reused = 0;
    shared_blocks = 0;
  }
  slot.sequence = std::move(*sequence);
  slot.cached.assign(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(reused));
  slot.reused = reused;
  slot.shared_blocks = shared_blocks;
  slot.reserved_blocks = need;
  return true;
}

// The job's reused prefix is final: counted, and told to the observer. Called with mutex_ held.
void Scheduler::prefix_settled(Slot& slot) {
  const std::size_t prompt = slot.work->request.prompt.size();
  prompt_tokens_reused_ += slot.reused;
  prompt_tokens_computed_ += prompt - slot.reused;
  slot.work->observer->on_prompt_cached(slot.reused);
}

void Scheduler::update_cache_figures() {
  cached_tokens_ = cache_.tokens();
  cached_sequences_ = cache_.entries().size();
  pool_ = backend_.kv_pool();
}

void Scheduler::finish_unstarted(Work& work, std::optional<Error> error) {
  {
    std::lock_guard lock(work.job->wake_mutex_);
    work.job->wake_ = nullptr;
  }
  GenerationResult r;
  r.reason = error ? FinishReason::kError : FinishReason::kCancelled;
  r.prompt_tokens = static_cast<std::int64_t>(work.request.prompt.size());
  r.queue_seconds = seconds_between(work.submitted_at, Clock::now());
  r.error = error ? std::move(error) : cancellation_error(*work.job);
  work.observer->on_finished(r);
}

void Scheduler::run() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (active_ == 0) {
        // Idle: sleep until work arrives. The timeout lets cancelled queued jobs finish promptly.
        cv_.wait_for(lock, std::chrono::milliseconds(100),
                     [this] { return stopping_ || !queue_.empty() || relief_ || save_requested_; });
      }
      if (stopping_) break;
      admit_queued();
    }
    apply_relief();
    if (options_.prompt_store != nullptr) {
      load_stored_prefixes();
      bool save = false;
      {
        std::lock_guard lock(mutex_);
        std::swap(save, save_requested_);
      }
      if (save) save_to_store();
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
  if (options_.prompt_store != nullptr) save_to_store();
}

void Scheduler::apply_relief() {
  std::optional<CacheRelief> relief;
  {
    std::lock_guard lock(mutex_);
    std::swap(relief, relief_);
  }
  if (!relief) return;
  if (*relief == CacheRelief::kDrop) {
    cache_.clear();
  } else {
    const std::size_t keep = cache_.entries().size() / 2;
    while (cache_.entries().size() > keep && cache_.drop_oldest()) {
    }
  }
  std::lock_guard lock(mutex_);
  update_cache_figures();
}

// Newly admitted jobs whose prompt the store holds more of than memory did: that prefix is read
// into the job's sequence (on this thread, outside the lock: a long prefix takes a moment).
void Scheduler::load_stored_prefixes() {
  PromptStore& store = *options_.prompt_store;
  for (auto& slot : slots_) {
    if (!slot->work || !slot->try_store) continue;
    slot->try_store = false;
    const auto& prompt = slot->work->request.prompt;
    std::size_t loaded = 0;
    const auto match = store.best_match(prompt);
    // Worth reading only for a clear gain over what is shared in memory; its blocks are the job's
    // own where shared ones were counted, so they must be had: free, droppable, or the job's now.
    const KvPoolStats pool = backend_.kv_pool();
    const bool worth = match && match->tokens >= slot->reused + kStoreGainTokens;
    const bool room = pool.block_tokens == 0 ||
                      pool.free_blocks + pool.unpinned_only_blocks + slot->sequence->blocks_held() >=
                          blocks_for(match ? match->tokens : 0);
    if (worth && room) {
      slot->sequence->clear();
      make_room(blocks_for(match->tokens));
      slot->reserved_blocks += slot->shared_blocks;
      slot->shared_blocks = 0;
      if (store.load(*match, *slot->sequence)) {
        loaded = match->tokens;
        slot->cached.assign(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(loaded));
        slot->prompt_done = slot->reused = loaded;
      } else {  // the store reported the bad file; the job starts from nothing
        slot->cached.clear();
        slot->prompt_done = slot->reused = 0;
      }
    }
    std::lock_guard lock(mutex_);
    prefix_settled(*slot);
    prompt_tokens_loaded_ += loaded;
    stored_prefixes_ = store.entries();
    stored_bytes_ = store.bytes();
    update_cache_figures();
  }
}

// The cached sequences into the store, least recently used first, so that its budget keeps the
// most recent.
void Scheduler::save_to_store() {
  PromptStore& store = *options_.prompt_store;
  std::vector<const PrefixCache::Entry*> order;
  for (const auto& entry : cache_.entries()) order.push_back(&entry);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return a->last_used < b->last_used; });
  for (const auto* entry : order) (void)store.save(entry->tokens, *entry->sequence);  // failures: reported by the store
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
  reading_.clear();
  for (auto& slot : slots_) {
    if (!slot->work) continue;
    if (slot->prompt_done < slot->work->request.prompt.size()) {
      reading_.push_back(slot.get());
      continue;
    }
    const std::span<float> logits(step_logits_.data() + items_.size() * vocab, vocab);
    items_.push_back({slot->sequence.get(), std::span(&slot->last_token, 1), logits});
    stepped_.push_back(slot.get());
  }
  // One chunk of prompt tokens per step, earliest admitted first: a prompt that ends inside it
  // leaves the rest to the next (short prompts arriving together start together), and the
  // generating slots never wait longer than one chunk.
  std::sort(reading_.begin(), reading_.end(),
            [](const Slot* a, const Slot* b) { return a->last_used < b->last_used; });
  std::size_t room = backend_.batch_capacity() - std::min(backend_.batch_capacity(), items_.size());
  room = std::min(room, options_.prompt_chunk);
  for (Slot* reading : reading_) {
    if (room == 0) break;
    const auto& prompt = reading->work->request.prompt;
    const std::size_t n = std::min(prompt.size() - reading->prompt_done, room);
    const bool last = reading->prompt_done + n == prompt.size();
    const std::span<float> logits(step_logits_.data() + items_.size() * vocab, last ? vocab : 0);
    items_.push_back({reading->sequence.get(), std::span(prompt).subspan(reading->prompt_done, n), logits});
    stepped_.push_back(reading);
    room -= n;
  }
  if (items_.empty()) return;
  // The blocks this step takes; admission made sure they can be had by dropping cached sequences.
  if (pool_.block_tokens != 0) {
    std::size_t blocks = 0;
    for (const BatchItem& item : items_) blocks += item.sequence->blocks_to_append(item.tokens.size());
    make_room(blocks);
  }

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
      log_prompt_progress(slot);
      if (item.last_logits.empty()) continue;
      slot.prompt_done_at = Clock::now();
    }
    if (work.request.constraint) work.request.constraint->mask(item.last_logits);
    accept_token(slot, slot.sampler->sample(item.last_logits));
  }
}

void Scheduler::log_prompt_progress(Slot& slot) {
  if (!options_.log) return;
  const GenerationRequest& request = slot.work->request;
  const auto now = Clock::now();
  const double seconds = seconds_between(slot.admitted_at, now);
  const bool done = slot.prompt_done >= request.prompt.size();
  // Prompts done before their first line say nothing: the generation's own line has their timings.
  if (done ? !slot.progress_logged : now - slot.progress_logged_at < options_.progress_interval) return;
  slot.progress_logged_at = now;
  slot.progress_logged = true;
  const std::size_t computed = slot.prompt_done - slot.reused;
  const std::size_t to_compute = request.prompt.size() - slot.reused;
  const double rate = seconds > 0 ? static_cast<double>(computed) / seconds : 0.0;
  const std::string name =
      request.label.empty() ? "job " + std::to_string(slot.work->job->id()) : request.label;
  std::string line = "prompt " + name + ": ";
  if (done) {
    line += std::to_string(computed) + " tokens computed in " + std::to_string(static_cast<long>(seconds)) +
            " s (" + std::to_string(static_cast<long>(rate)) + " tokens/s)";
  } else {
    const auto left = rate > 0 ? static_cast<long>(static_cast<double>(to_compute - computed) / rate) : 0L;
    line += std::to_string(computed) + " of " + std::to_string(to_compute) + " tokens computed (" +
            std::to_string(computed * 100 / to_compute) + "%), " + std::to_string(static_cast<long>(rate)) +
            " tokens/s, about " + std::to_string(left) + " s left";
  }
  if (slot.reused > 0) line += "; " + std::to_string(slot.reused) + " found cached";
  options_.log(line);
}

void Scheduler::accept_token(Slot& slot, std::int32_t token) {
  Work& work = *slot.work;
  const auto& ends = work.request.end_tokens;
  if (std::find(ends.begin(), ends.end(), token) != ends.end()) {
    return finish(slot, FinishReason::kEndOfGeneration);
  }
  ++slot.output_tokens;
  slot.sampler->accept(token);
  const bool more_allowed = !work.request.constraint || work.request.constraint->accept(token);
  if (!work.observer->on_token(token) || !more_allowed) return finish(slot, FinishReason::kStopped);
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
  slot.sampler.reset();
  {
    std::lock_guard lock(mutex_);
    // The cache stays for the next job with the same prefix, unless a failed step left it unknown.
    if (reason != FinishReason::kError && slot.sequence) {
      const std::size_t prompt_held = std::min(slot.cached.size(), work->request.prompt.size());
      r.cache_written_prompt_tokens =
          static_cast<std::int64_t>(prompt_held - std::min(prompt_held, slot.reused));
      cache_.add(std::move(slot.cached), std::move(slot.sequence));
    }
    // Without a pool nothing bounds the cache by memory: it keeps a few sequences per slot.
    if (pool_.block_tokens == 0) {
      while (cache_.entries().size() > 4 * slots_.size() && cache_.drop_oldest()) {
      }
    }
    slot.sequence.reset();
    slot.cached.clear();
    --active_;
    ++finished_;
    running_.erase(work->job->id());
    update_cache_figures();
  }
  work->observer->on_finished(r);
}

}  // namespace pensieve::engine
