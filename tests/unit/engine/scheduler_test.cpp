#include "engine/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>

namespace pensieve::engine {
namespace {

using namespace std::chrono_literals;

// A deterministic model: the next token is always (last token + 1) mod vocab. It can be slowed
// down or made to fail, to exercise the scheduler's cancellation and error paths.
class CountingBackend : public Backend {
 public:
  static constexpr std::int32_t kVocab = 16;

  class Seq : public Sequence {
   public:
    std::size_t size() const override { return tokens.size(); }
    void clear() override { tokens.clear(); }
    void truncate(std::size_t n) override { tokens.resize(std::min(n, tokens.size())); }
    Status share_prefix(const Sequence& from, std::size_t n) override {
      const auto& other = static_cast<const Seq&>(from).tokens;
      tokens.assign(other.begin(), other.begin() + static_cast<std::ptrdiff_t>(std::min(n, other.size())));
      return {};
    }
    std::vector<std::int32_t> tokens;
  };

  std::int32_t vocab_size() const override { return kVocab; }
  std::size_t context_length() const override { return context; }
  Result<std::unique_ptr<Sequence>> create_sequence() override { return std::unique_ptr<Sequence>(new Seq); }

  Status forward(Sequence& s, std::span<const std::int32_t> tokens, std::span<float> logits) override {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    const int call = ++forward_calls;
    if (fail_next.exchange(false) || call == fail_at_call) return make_error(ErrorCode::kInternal, "injected failure");
    auto& seq = static_cast<Seq&>(s);
    if (seq.tokens.size() + tokens.size() > context) return make_error(ErrorCode::kOutOfRange, "context overflow");
    seq.tokens.insert(seq.tokens.end(), tokens.begin(), tokens.end());
    {
      std::lock_guard lock(mutex);
      computed.emplace_back(tokens.begin(), tokens.end());
      cache_after.push_back(seq.tokens);
    }
    if (!logits.empty()) {
      std::fill(logits.begin(), logits.end(), 0.0f);
      logits[static_cast<std::size_t>((tokens.back() + 1) % kVocab)] = 10.0f;
    }
    return {};
  }

  // Each pass's items, by their token counts; a held gate makes passes wait for its release.
  Status forward_batch(std::span<const BatchItem> items) override {
    {
      std::unique_lock lock(mutex);
      gate_open.wait(lock, [&] { return !gate_held; });
      auto& sizes = batches.emplace_back();
      for (const BatchItem& item : items) sizes.push_back(item.tokens.size());
    }
    return Backend::forward_batch(items);
  }
  void hold_gate() {
    std::lock_guard lock(mutex);
    gate_held = true;
  }
  void release_gate() {
    {
      std::lock_guard lock(mutex);
      gate_held = false;
    }
    gate_open.notify_all();
  }

  std::size_t context = 4096;
  std::chrono::microseconds delay{0};
  bool gate_held = false;  // guarded by mutex
  std::condition_variable gate_open;
  std::vector<std::vector<std::size_t>> batches;
  std::atomic<bool> fail_next{false};
  std::atomic<int> fail_at_call{0};  // the forward call (counting from 1) that fails
  std::atomic<int> forward_calls{0};
  std::mutex mutex;
  std::vector<std::vector<std::int32_t>> computed;     // the tokens of each forward call
  std::vector<std::vector<std::int32_t>> cache_after;  // the sequence's tokens after each call
};

class Recorder : public GenerationObserver {
 public:
  explicit Recorder(int stop_after = -1) : stop_after_(stop_after) {}
  void on_prompt_cached(std::size_t tokens) override { cached.push_back(tokens); }
  void on_prompt_progress(std::size_t done, std::size_t) override {
    EXPECT_EQ(cached.size(), 1u) << "the cached prefix is told once, before the first chunk";
    progress.push_back(done);
  }
  bool on_token(std::int32_t token) override {
    tokens.push_back(token);
    return stop_after_ < 0 || static_cast<int>(tokens.size()) < stop_after_;
  }
  void on_finished(const GenerationResult& r) override { done.set_value(r); }

  GenerationResult wait() {
    auto f = done.get_future();
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    return f.get();
  }

  std::vector<std::int32_t> tokens;
  std::vector<std::size_t> cached;
  std::vector<std::size_t> progress;
  std::promise<GenerationResult> done;

 private:
  int stop_after_;
};

// One slot and a 1 ms step: a second job waits, and a long one runs long enough to be caught.
Result<std::unique_ptr<Scheduler>> one_slot_scheduler(CountingBackend& backend) {
  backend.delay = std::chrono::milliseconds(1);
  SchedulerOptions o;
  o.parallel = 1;
  return Scheduler::create(backend, o);
}

Result<std::unique_ptr<Scheduler>> scheduler_with_slots(CountingBackend& backend, std::size_t parallel) {
  SchedulerOptions o;
  o.parallel = parallel;
  return Scheduler::create(backend, o);
}

GenerationRequest greedy(std::vector<std::int32_t> prompt, std::int64_t max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0.0f;
  return r;
}

TEST(Scheduler, GeneratesUntilMaxTokens) {
  CountingBackend backend;
  auto s = Scheduler::create(backend, {});
  ASSERT_TRUE(s.ok());
  auto rec = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1, 2, 3}, 5), rec).ok());
  auto r = rec->wait();
  EXPECT_EQ(r.reason, FinishReason::kMaxTokens);
  EXPECT_EQ(r.prompt_tokens, 3);
  EXPECT_EQ(r.output_tokens, 5);
  EXPECT_EQ(rec->tokens, (std::vector<std::int32_t>{4, 5, 6, 7, 8}));
}

TEST(Scheduler, EndTokenIsNotEmitted) {
  CountingBackend backend;
  auto s = Scheduler::create(backend, {});
  auto rec = std::make_shared<Recorder>();
  auto req = greedy({3}, 100);
  req.end_tokens = {7};
  ASSERT_TRUE((*s)->submit(req, rec).ok());
  auto r = rec->wait();
  EXPECT_EQ(r.reason, FinishReason::kEndOfGeneration);
  EXPECT_EQ(rec->tokens, (std::vector<std::int32_t>{4, 5, 6}));
  EXPECT_EQ(r.output_tokens, 3);
}

TEST(Scheduler, ObserverCanStop) {
  CountingBackend backend;
  auto s = Scheduler::create(backend, {});
  auto rec = std::make_shared<Recorder>(2);
  ASSERT_TRUE((*s)->submit(greedy({0}, 100), rec).ok());
  auto r = rec->wait();
  EXPECT_EQ(r.reason, FinishReason::kStopped);
  EXPECT_EQ(r.output_tokens, 2);
}

// A constraint that allows only even tokens, and nothing after its third.
class EvenTokensOnly : public TokenConstraint {
 public:
  void mask(std::span<float> logits) override {
    ++masks;
    for (std::size_t i = 1; i < logits.size(); i += 2) logits[i] = -std::numeric_limits<float>::infinity();
  }
  bool accept(std::int32_t token) override {
    accepted.push_back(token);
    return accepted.size() < 3;
  }
  int masks = 0;
  std::vector<std::int32_t> accepted;
};

// The mask comes before sampling (the model's favourite, an odd token, is never drawn) and a
// constraint that allows nothing more ends the generation after the token it was given.
TEST(Scheduler, AConstraintMasksBeforeSamplingAndCanEndTheGeneration) {
  CountingBackend backend;
  auto s = Scheduler::create(backend, {});
  auto rec = std::make_shared<Recorder>();
  auto constraint = std::make_shared<EvenTokensOnly>();
  auto req = greedy({2}, 100);  // the model wants 3 next
  req.constraint = constraint;
  ASSERT_TRUE((*s)->submit(req, rec).ok());
  auto r = rec->wait();
  EXPECT_EQ(r.reason, FinishReason::kStopped);
  EXPECT_EQ(rec->tokens.size(), 3u);
  for (auto t : rec->tokens) EXPECT_EQ(t % 2, 0) << t;
  EXPECT_EQ(constraint->accepted, rec->tokens);
  EXPECT_EQ(constraint->masks, 3);
}

TEST(Scheduler, LongPromptIsChunked) {
  CountingBackend backend;
  SchedulerOptions o;
  o.prompt_chunk = 256;
  auto s = Scheduler::create(backend, o);
  auto rec = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy(std::vector<std::int32_t>(1000, 1), 1), rec).ok());
  rec->wait();
  EXPECT_EQ(rec->progress, (std::vector<std::size_t>{256, 512, 768, 1000}));
  EXPECT_EQ(rec->tokens, std::vector<std::int32_t>{2});
}

// Each step takes 20 ms and lines may come every 30 ms: a 1,000-token prompt in chunks of 100 logs
// its progress a few times, with figures that only grow, then once when it is done; a prompt done
// in one step logs nothing.
TEST(Scheduler, LongPromptsLogTheirProgress) {
  CountingBackend backend;
  backend.delay = std::chrono::milliseconds(20);
  std::mutex mutex;
  std::vector<std::string> lines;
  SchedulerOptions o;
  o.prompt_chunk = 100;
  o.progress_interval = std::chrono::milliseconds(30);
  o.log = [&](const std::string& line) {
    std::lock_guard lock(mutex);
    lines.push_back(line);
  };
  auto s = Scheduler::create(backend, o);
  ASSERT_TRUE(s.ok());
  auto request = greedy(std::vector<std::int32_t>(1000, 1), 1);
  request.label = "req_long";
  auto rec = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(std::move(request), rec).ok());
  rec->wait();

  const auto logged = [&] {
    std::lock_guard lock(mutex);
    return std::exchange(lines, {});
  };
  const std::vector<std::string> long_lines = logged();
  ASSERT_GE(long_lines.size(), 3u);
  long previous = 0;
  for (std::size_t i = 0; i + 1 < long_lines.size(); ++i) {
    SCOPED_TRACE(long_lines[i]);
    EXPECT_EQ(long_lines[i].rfind("prompt req_long: ", 0), 0u);
    EXPECT_NE(long_lines[i].find(" of 1000 tokens computed ("), std::string::npos);
    EXPECT_NE(long_lines[i].find("s left"), std::string::npos);
    const long computed = std::stol(long_lines[i].substr(std::string("prompt req_long: ").size()));
    EXPECT_GT(computed, previous);
    EXPECT_LT(computed, 1000);
    EXPECT_EQ(computed % 100, 0);
    previous = computed;
  }
  EXPECT_EQ(long_lines.back().rfind("prompt req_long: 1000 tokens computed in ", 0), 0u) << long_lines.back();

  backend.delay = std::chrono::milliseconds(0);
  auto short_rec = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1, 2, 3}, 1), short_rec).ok());
  short_rec->wait();
  const std::vector<std::string> short_lines = logged();
  EXPECT_TRUE(short_lines.empty()) << short_lines.front();
}
TEST(Scheduler, RejectsPromptThatDoesNotFit) {
  CountingBackend backend;
  backend.context = 8;
  auto s = Scheduler::create(backend, {});
  auto rec = std::make_shared<Recorder>();
  auto job = (*s)->submit(greedy(std::vector<std::int32_t>(8, 1), 1), rec);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE((*s)->submit(greedy({}, 1), rec).ok());
}

TEST(Scheduler, StopsWhenContextIsFull) {
  CountingBackend backend;
  backend.context = 6;
  auto s = Scheduler::create(backend, {});
  auto rec = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1, 2, 3}, 100), rec).ok());
  auto r = rec->wait();
  EXPECT_EQ(r.reason, FinishReason::kContextFull);
  // 3 prompt tokens + 3 generated ones fed back = 6 in the cache, plus the last one sampled.
  EXPECT_EQ(r.output_tokens, 4);
}

TEST(Scheduler, QueueDepthIsBounded) {
  CountingBackend backend;
  backend.delay = 2ms;
  SchedulerOptions o;
  o.parallel = 1;
  o.max_queued = 1;
  auto s = Scheduler::create(backend, o);
  auto a = std::make_shared<Recorder>(), b = std::make_shared<Recorder>(), c = std::make_shared<Recorder>();
  auto ja = (*s)->submit(greedy({1}, 50), a);
  auto jb = (*s)->submit(greedy({1}, 1), b);
  auto jc = (*s)->submit(greedy({1}, 1), c);
  ASSERT_TRUE(ja.ok());
  ASSERT_TRUE(jb.ok());
  ASSERT_FALSE(jc.ok());
  EXPECT_EQ(jc.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(a->wait().reason, FinishReason::kMaxTokens);
  EXPECT_EQ(b->wait().reason, FinishReason::kMaxTokens);
}

TEST(Scheduler, CancelStopsWithinAStepAndFreesTheSlot) {
  CountingBackend backend;
  auto s = one_slot_scheduler(backend);
  auto rec = std::make_shared<Recorder>();
  auto job = (*s)->submit(greedy({1}, 100000), rec);
  ASSERT_TRUE(job.ok());
  while ((*s)->stats().active == 0 || backend.forward_calls < 5) std::this_thread::sleep_for(1ms);
  (*job)->cancel();
  const int calls_at_cancel = backend.forward_calls;
  auto r = rec->wait();
  EXPECT_EQ(r.reason, FinishReason::kCancelled);
  EXPECT_FALSE(r.error.has_value());  // nobody said why: the client itself went away
  EXPECT_LE(backend.forward_calls - calls_at_cancel, 1);  // at most the step already under way
  EXPECT_EQ((*s)->stats().active, 0u);

  auto next = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1}, 3), next).ok());
  EXPECT_EQ(next->wait().reason, FinishReason::kMaxTokens);
  EXPECT_EQ(next->tokens, (std::vector<std::int32_t>{2, 3, 4}));
}

// An observer whose client has gone (wanted() false) costs no further forward step.
TEST(Scheduler, UnwantedGenerationStopsBeforeTheNextStep) {
  class Unwanted : public Recorder {
   public:
    bool wanted() override { return !gone; }
    bool on_token(std::int32_t token) override {
      gone = true;  // as if the client hung up while this token was on its way
      return Recorder::on_token(token);
    }
    bool gone = false;
  };
  CountingBackend backend;
  auto s = Scheduler::create(backend, {});
  auto rec = std::make_shared<Unwanted>();
  ASSERT_TRUE((*s)->submit(greedy({1, 2}, 1000), rec).ok());
  auto r = rec->wait();
  EXPECT_EQ(r.reason, FinishReason::kCancelled);
  EXPECT_EQ(r.output_tokens, 1);
  EXPECT_EQ(backend.forward_calls, 1);  // the prompt's step only
}

TEST(Scheduler, CancelWhileQueued) {
  CountingBackend backend;
  auto s = one_slot_scheduler(backend);
  auto a = std::make_shared<Recorder>(), b = std::make_shared<Recorder>();
  auto ja = (*s)->submit(greedy({1}, 30), a);
  auto jb = (*s)->submit(greedy({1}, 30), b);
  (*jb)->cancel("first reason");
  (*jb)->cancel("second reason");
  const auto rb = b->wait();
  EXPECT_EQ(rb.reason, FinishReason::kCancelled);
  ASSERT_TRUE(rb.error.has_value());
  EXPECT_EQ(rb.error->message, "first reason");
  EXPECT_TRUE(b->tokens.empty());
  EXPECT_EQ(a->wait().reason, FinishReason::kMaxTokens);
}

TEST(Scheduler, ManyConcurrentJobsAllComplete) {
  CountingBackend backend;
  SchedulerOptions o;
  o.parallel = 4;
  auto s = Scheduler::create(backend, o);
  std::vector<std::shared_ptr<Recorder>> recs;
  for (int i = 0; i < 12; ++i) {
    recs.push_back(std::make_shared<Recorder>());
    ASSERT_TRUE((*s)->submit(greedy({i % 16}, 10 + i), recs.back()).ok());
  }
  for (int i = 0; i < 12; ++i) {
    auto r = recs[static_cast<std::size_t>(i)]->wait();
    EXPECT_EQ(r.reason, FinishReason::kMaxTokens);
    EXPECT_EQ(r.output_tokens, 10 + i);
    EXPECT_EQ(recs[static_cast<std::size_t>(i)]->tokens.front(), (i + 1) % 16);
  }
}

TEST(Scheduler, ForwardErrorEndsOnlyThatJob) {
  CountingBackend backend;
  auto s = Scheduler::create(backend, {});
  backend.fail_next = true;
  auto a = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1}, 5), a).ok());
  auto r = a->wait();
  EXPECT_EQ(r.reason, FinishReason::kError);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->message, "injected failure");
  auto b = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1}, 2), b).ok());
  EXPECT_EQ(b->wait().reason, FinishReason::kMaxTokens);
}

TEST(Scheduler, ShutdownCancelsRunningAndQueued) {
  CountingBackend backend;
  auto s = one_slot_scheduler(backend);
  auto a = std::make_shared<Recorder>(), b = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1}, 100000), a).ok());
  ASSERT_TRUE((*s)->submit(greedy({1}, 100000), b).ok());
  std::this_thread::sleep_for(10ms);
  (*s)->shutdown();
  for (const auto& rec : {a, b}) {
    const auto r = rec->wait();
    EXPECT_EQ(r.reason, FinishReason::kCancelled);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->message, "the server is shutting down");
  }
  EXPECT_FALSE((*s)->submit(greedy({1}, 1), std::make_shared<Recorder>()).ok());
}

}  // namespace
}  // namespace pensieve::engine

namespace pensieve::engine {
namespace {

TEST(Scheduler, RunningListAndCancelById) {
  CountingBackend backend;
  backend.delay = std::chrono::milliseconds(1);
  auto s = Scheduler::create(backend, {});
  auto rec = std::make_shared<Recorder>();
  auto job = (*s)->submit(greedy({1, 2}, 100000), rec);
  ASSERT_TRUE(job.ok());
  while ((*s)->running().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto running = (*s)->running();
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0].id, (*job)->id());
  EXPECT_EQ(running[0].tokens, 2 + 100000);
  EXPECT_FALSE((*s)->cancel(running[0].id + 1000, "unknown"));
  EXPECT_TRUE((*s)->cancel(running[0].id, "memory emergency"));
  const auto r = rec->wait();
  EXPECT_EQ(r.reason, FinishReason::kCancelled);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->message, "memory emergency");
  EXPECT_TRUE((*s)->running().empty());
}

TEST(Scheduler, StatsCountEveryJobThatEnded) {
  CountingBackend backend;
  auto s = one_slot_scheduler(backend);
  EXPECT_EQ((*s)->stats().finished, 0u);
  auto done = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1}, 3), done).ok());
  EXPECT_EQ(done->wait().reason, FinishReason::kMaxTokens);
  EXPECT_EQ((*s)->stats().finished, 1u);

  auto running = std::make_shared<Recorder>(), queued = std::make_shared<Recorder>();
  auto a = (*s)->submit(greedy({1}, 100000), running);
  auto b = (*s)->submit(greedy({1}, 100000), queued);
  ASSERT_TRUE(a.ok() && b.ok());
  (*b)->cancel();
  EXPECT_EQ(queued->wait().reason, FinishReason::kCancelled);
  EXPECT_EQ((*s)->stats().finished, 2u);
  (*a)->cancel();
  EXPECT_EQ(running->wait().reason, FinishReason::kCancelled);
  EXPECT_EQ((*s)->stats().finished, 3u);

  backend.fail_next = true;
  auto failed = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1}, 3), failed).ok());
  EXPECT_EQ(failed->wait().reason, FinishReason::kError);
  EXPECT_EQ((*s)->stats().finished, 4u);
  EXPECT_EQ((*s)->stats().active, 0u);
}

// A job whose prompt begins with what a finished job left in the slot computes only the rest:
// the prompt and the tokens that entered the cache (not the last sampled one) are reused.
TEST(Scheduler, ANewJobComputesOnlyWhatItsSlotDoesNotHold) {
  CountingBackend backend;
  auto s = scheduler_with_slots(backend, 1);
  ASSERT_TRUE(s.ok());
  auto first = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1, 2, 3, 4, 5}, 3), first).ok());
  const GenerationResult one = first->wait();
  EXPECT_EQ(one.cached_prompt_tokens, 0);
  EXPECT_EQ(one.cache_written_prompt_tokens, 5);                   // all it computed of its prompt, kept
  EXPECT_EQ(first->tokens, (std::vector<std::int32_t>{6, 7, 8}));  // 6 and 7 entered the cache

  auto second = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1, 2, 3, 4, 5, 6, 7, 12, 13}, 2), second).ok());
  const GenerationResult r = second->wait();
  EXPECT_EQ(r.prompt_tokens, 9);
  EXPECT_EQ(r.cached_prompt_tokens, 7);
  EXPECT_EQ(r.cache_written_prompt_tokens, 2);
  EXPECT_EQ(first->cached, (std::vector<std::size_t>{0}));
  EXPECT_EQ(second->cached, (std::vector<std::size_t>{7}));
  EXPECT_EQ(second->tokens, (std::vector<std::int32_t>{14, 15}));
  const SchedulerStats stats = (*s)->stats();
  EXPECT_EQ(stats.prompt_tokens_reused, 7u);
  EXPECT_EQ(stats.prompt_tokens_computed, 5u + 2u);
  EXPECT_EQ(stats.cached_tokens, 10u);  // the second prompt and its first answer token
  std::lock_guard lock(backend.mutex);
  // The first job: its prompt, then 6 and 7; the second: only 12, 13, then 14.
  ASSERT_EQ(backend.computed.size(), 3u + 2u);
  EXPECT_EQ(backend.computed[3], (std::vector<std::int32_t>{12, 13}));
  EXPECT_EQ(backend.cache_after[3], (std::vector<std::int32_t>{1, 2, 3, 4, 5, 6, 7, 12, 13}));
}

// Prompts admitted together share one step's prompt chunk, earliest admitted first, while the
// generating job gets its token in the same pass; the chunk's budget is never exceeded.
TEST(Scheduler, ShortPromptsShareOneStepsChunk) {
  CountingBackend backend;
  SchedulerOptions o;
  o.parallel = 4;
  o.prompt_chunk = 8;
  auto s = Scheduler::create(backend, o);
  ASSERT_TRUE(s.ok());
  backend.hold_gate();  // the first job's prompt pass waits while the others are submitted
  auto a = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1, 1}, 3), a).ok());
  while ((*s)->stats().active != 1) std::this_thread::sleep_for(1ms);
  auto b = std::make_shared<Recorder>(), c = std::make_shared<Recorder>(), d = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({2, 2, 2}, 1), b).ok());
  ASSERT_TRUE((*s)->submit(greedy({3, 3, 3, 3}, 1), c).ok());
  ASSERT_TRUE((*s)->submit(greedy({4, 4, 4, 4, 4}, 1), d).ok());
  backend.release_gate();
  a->wait();
  b->wait();
  c->wait();
  d->wait();
  EXPECT_EQ(b->tokens, (std::vector<std::int32_t>{3}));
  EXPECT_EQ(d->tokens, (std::vector<std::int32_t>{5}));
  std::lock_guard lock(backend.mutex);
  ASSERT_GE(backend.batches.size(), 3u);
  EXPECT_EQ(backend.batches[0], (std::vector<std::size_t>{2}));  // a's prompt alone
  // a's next token; b's prompt, c's, and the first 1 of d's 5 (8 prompt tokens in all); then d's rest.
  EXPECT_EQ(backend.batches[1], (std::vector<std::size_t>{1, 3, 4, 1}));
  EXPECT_EQ(backend.batches[2], (std::vector<std::size_t>{1, 4}));
}

// A job submitted during a step, with a slot free for it, starts at the next step: it is not
// counted as queued (an upstream front reading that figure would take the server for full); those
// beyond the free slots are.
TEST(Scheduler, OnlyJobsBeyondTheFreeSlotsCountAsQueued) {
  CountingBackend backend;
  auto s = scheduler_with_slots(backend, 2);
  ASSERT_TRUE(s.ok());
  backend.hold_gate();  // the first job's prompt pass waits while the others are submitted
  auto a = std::make_shared<Recorder>(), b = std::make_shared<Recorder>(), c = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1, 1}, 3), a).ok());
  while ((*s)->stats().active != 1) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE((*s)->submit(greedy({2, 2}, 1), b).ok());
  EXPECT_EQ((*s)->stats().queued, 0u);
  ASSERT_TRUE((*s)->submit(greedy({3, 3}, 1), c).ok());
  EXPECT_EQ((*s)->stats().queued, 1u);
  EXPECT_EQ((*s)->stats().active, 1u);
  backend.release_gate();
  a->wait();
  b->wait();
  c->wait();
  EXPECT_EQ((*s)->stats().queued, 0u);
}

// A prompt that leaves the cached tokens part-way keeps only the shared part; one that repeats
// them whole still computes its last token (its logits give the first output token).
TEST(Scheduler, DivergingAndRepeatedPromptsKeepOnlyWhatIsShared) {
  CountingBackend backend;
  auto s = scheduler_with_slots(backend, 1);
  ASSERT_TRUE(s.ok());
  auto run = [&](std::vector<std::int32_t> prompt) {
    auto rec = std::make_shared<Recorder>();
    EXPECT_TRUE((*s)->submit(greedy(std::move(prompt), 1), rec).ok());
    return rec->wait().cached_prompt_tokens;
  };
  EXPECT_EQ(run({1, 2, 3, 4, 5, 6}), 0);
  EXPECT_EQ(run({1, 2, 9, 9}), 2);
  EXPECT_EQ(run({1, 2, 9, 9}), 3);
  EXPECT_EQ(run({4, 4}), 0);
  std::lock_guard lock(backend.mutex);
  EXPECT_EQ(backend.cache_after.back(), (std::vector<std::int32_t>{4, 4}));
  EXPECT_EQ(backend.cache_after[backend.cache_after.size() - 2], (std::vector<std::int32_t>{1, 2, 9, 9}));
}

// With several free slots a job goes to the one holding the longest prefix of its prompt.
TEST(Scheduler, AJobGoesToTheSlotWithItsLongestPrefix) {
  CountingBackend backend;
  auto s = scheduler_with_slots(backend, 2);
  ASSERT_TRUE(s.ok());
  // Two jobs at once fill both slots with different conversations.
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  backend.delay = std::chrono::milliseconds(2);
  ASSERT_TRUE((*s)->submit(greedy({1, 1, 1, 1}, 1), a).ok());
  ASSERT_TRUE((*s)->submit(greedy({2, 2, 2, 2, 2, 2}, 1), b).ok());
  a->wait();
  b->wait();
  for (const auto& [prompt, cached] : std::vector<std::pair<std::vector<std::int32_t>, std::int64_t>>{
           {{2, 2, 2, 2, 2, 2, 3}, 6}, {{1, 1, 1, 1, 5}, 4}, {{2, 2, 2, 2, 2, 2, 3, 9}, 7}}) {
    auto rec = std::make_shared<Recorder>();
    ASSERT_TRUE((*s)->submit(greedy(prompt, 1), rec).ok());
    EXPECT_EQ(rec->wait().cached_prompt_tokens, cached) << prompt.size();
  }
}

// Where a job's time went: waiting for the slot, its prompt, and the tokens after the first
// (each step of the backend sleeps 1 ms, so each phase lasts at least its steps' sleep).
TEST(Scheduler, ResultsSayWhereTheTimeWent) {
  CountingBackend backend;
  auto s = one_slot_scheduler(backend);
  ASSERT_TRUE(s.ok());
  auto first = std::make_shared<Recorder>();
  auto second = std::make_shared<Recorder>();
  // Both are queued before the first step runs, however late this thread gets its turns.
  backend.hold_gate();
  ASSERT_TRUE((*s)->submit(greedy({1, 2, 3}, 5), first).ok());
  ASSERT_TRUE((*s)->submit(greedy({9, 9}, 3), second).ok());
  backend.release_gate();
  const GenerationResult a = first->wait();
  const GenerationResult b = second->wait();
  EXPECT_GE(a.prompt_seconds, 0.001);      // one prompt step
  EXPECT_GE(a.generation_seconds, 0.004);  // four decode steps after the first token
  EXPECT_GE(b.queue_seconds, 0.003);  // behind the first job (five steps; it may have begun one)
  EXPECT_GE(b.prompt_seconds, 0.001);
  EXPECT_GE(b.generation_seconds, 0.002);
}

// A failed step leaves the cache in doubt: the next job computes everything.
TEST(Scheduler, AFailedStepForgetsThatJobsCacheOnly) {
  CountingBackend backend;
  auto s = scheduler_with_slots(backend, 1);
  ASSERT_TRUE(s.ok());
  auto first = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1, 2, 3}, 4), first).ok());
  first->wait();
  // Its prompt computes, its first decoding step fails: what it computed is not trusted.
  backend.fail_at_call = backend.forward_calls + 2;
  auto failing = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({7, 7, 7, 7}, 4), failing).ok());
  const GenerationResult failed = failing->wait();
  EXPECT_EQ(failed.reason, FinishReason::kError);
  EXPECT_EQ(failed.cache_written_prompt_tokens, 0);  // nothing of it is kept
  auto after = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({7, 7, 7, 7, 7}, 1), after).ok());
  EXPECT_EQ(after->wait().cached_prompt_tokens, 0);
  // The first job's cache is another job's: it stays.
  auto again = std::make_shared<Recorder>();
  ASSERT_TRUE((*s)->submit(greedy({1, 2, 3, 4, 5}, 1), again).ok());
  EXPECT_EQ(again->wait().cached_prompt_tokens, 4);
}

}  // namespace
}  // namespace pensieve::engine
