// Admission by KV blocks, on a backend whose sequences take blocks of 4 tokens from a small shared
// pool: a request the pool can never hold is refused at once, one that cannot be held now waits
// and runs when memory comes back, cached sequences are dropped (least recently used first) to
// make room, and the memory guard's relief empties the cache — no admitted job ever fails for
// want of a block.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <limits>
#include <mutex>

#include "engine/scheduler.hpp"

namespace pensieve::engine {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kBlockTokens = 4;

std::size_t blocks(std::size_t tokens) { return (tokens + kBlockTokens - 1) / kBlockTokens; }

// Next token = last + 1 (mod 16). Each sequence owns ceil(size / 4) blocks of a pool of `total`
// (sharing copies: the accounting, not the sharing, is under test); a forward pass that needs
// more than the free blocks fails, as the real pool does.
class PooledBackend : public Backend {
 public:
  explicit PooledBackend(std::size_t total) : total(total) {}

  class Seq : public Sequence {
   public:
    explicit Seq(PooledBackend& b) : b(b) {}
    ~Seq() override { resize(0); }
    std::size_t size() const override { return n; }
    void clear() override { resize(0); }
    void truncate(std::size_t keep) override { resize(std::min(keep, n)); }
    Status share_prefix(const Sequence& /*from*/, std::size_t keep) override {
      resize(0);
      if (!resize(keep)) return make_error(ErrorCode::kResourceExhausted, "pool exhausted");
      return {};
    }
    void set_pinned(bool p) override {
      std::lock_guard lock(b.mutex);
      if (p == pinned) return;
      if (p) {
        b.unpinned -= blocks(n);
      } else {
        b.unpinned += blocks(n);
      }
      pinned = p;
    }
    std::size_t blocks_held() const override { return blocks(n); }
    std::size_t blocks_to_append(std::size_t k) const override { return blocks(n + k) - blocks(n); }
    // Grows or shrinks to `size` tokens; false when the pool lacks the blocks.
    bool resize(std::size_t size) {
      const std::size_t have = blocks(n), want = blocks(size);
      if (want > have && !b.take(want - have)) return false;
      if (want < have) b.give(have - want);
      if (!pinned) {
        std::lock_guard lock(b.mutex);
        b.unpinned = b.unpinned + want - have;
      }
      n = size;
      return true;
    }
    PooledBackend& b;
    std::size_t n = 0;
    bool pinned = true;
  };

  std::int32_t vocab_size() const override { return 16; }
  std::size_t context_length() const override { return 64; }
  Result<std::unique_ptr<Sequence>> create_sequence() override { return std::unique_ptr<Sequence>(new Seq(*this)); }
  KvPoolStats kv_pool() const override {
    std::lock_guard lock(mutex);
    return {kBlockTokens, total, total - used, unpinned, 1};
  }
  Status forward(Sequence& s, std::span<const std::int32_t> tokens, std::span<float> logits) override {
    auto& seq = static_cast<Seq&>(s);
    if (!seq.resize(seq.n + tokens.size())) {
      std::lock_guard lock(mutex);
      ++exhausted;
      return make_error(ErrorCode::kResourceExhausted, "pool exhausted");
    }
    if (!logits.empty()) {
      std::fill(logits.begin(), logits.end(), 0.0f);
      logits[static_cast<std::size_t>((tokens.back() + 1) % 16)] = 10.0f;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    return {};
  }

  bool take(std::size_t k) {
    std::lock_guard lock(mutex);
    if (used + k > total) return false;
    used += k;
    return true;
  }
  void give(std::size_t k) {
    std::lock_guard lock(mutex);
    used -= k;
  }

  const std::size_t total;
  std::size_t used = 0;
  std::size_t unpinned = 0;
  int exhausted = 0;  // forward passes refused for want of blocks: must stay 0
  std::chrono::microseconds delay{0};
  mutable std::mutex mutex;
};

class Done : public GenerationObserver {
 public:
  bool on_token(std::int32_t) override { return true; }
  void on_finished(const GenerationResult& r) override { done.set_value(r); }
  GenerationResult wait() {
    auto f = done.get_future();
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    return f.get();
  }
  std::promise<GenerationResult> done;
};

// An observer that holds its generation at each token until the test allows it further.
class Stepper : public GenerationObserver {
 public:
  bool on_token(std::int32_t) override {
    std::unique_lock lock(mutex_);
    ++tokens_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return allowed_ >= tokens_; });
    return true;
  }
  void on_finished(const GenerationResult& r) override { done_.set_value(r); }
  // Returns once the generation is held at its `n`th token.
  void wait_for_token(int n) {
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(changed_.wait_for(lock, 10s, [&] { return tokens_ >= n; })) << "token " << n << " never came";
  }
  void allow(int n) {
    {
      std::lock_guard lock(mutex_);
      allowed_ = n;
    }
    changed_.notify_all();
  }
  GenerationResult wait() {
    allow(std::numeric_limits<int>::max());
    auto f = done_.get_future();
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    return f.get();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int tokens_ = 0;
  int allowed_ = 0;
  std::promise<GenerationResult> done_;
};

GenerationRequest request(std::vector<std::int32_t> prompt, std::int64_t max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0.0f;
  return r;
}

std::vector<std::int32_t> tokens(std::size_t n, std::int32_t first) {
  std::vector<std::int32_t> t(n);
  for (std::size_t i = 0; i < n; ++i) t[i] = static_cast<std::int32_t>((first + static_cast<std::int32_t>(i) * 3) % 16);
  return t;
}

TEST(KvAdmission, ARequestThePoolCanNeverHoldIsRefusedAtOnce) {
  PooledBackend backend(8);  // 32 tokens
  auto s = Scheduler::create(backend, {.parallel = 2});
  ASSERT_TRUE(s.ok());
  auto job = (*s)->submit(request(tokens(20, 1), 20), std::make_shared<Done>());  // may need 40
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.error().code, ErrorCode::kOutOfRange);
  EXPECT_NE(job.error().message.find("--kv-budget"), std::string::npos) << job.error().message;
  auto fits = std::make_shared<Done>();
  ASSERT_TRUE((*s)->submit(request(tokens(20, 1), 12), fits).ok());
  EXPECT_EQ(fits->wait().reason, FinishReason::kMaxTokens);
}

TEST(KvAdmission, AJobThatCannotBeHeldNowWaitsForTheOneRunning) {
  PooledBackend backend(8);
  backend.delay = 1ms;
  auto s = Scheduler::create(backend, {.parallel = 2});
  ASSERT_TRUE(s.ok());
  auto first = std::make_shared<Done>(), second = std::make_shared<Done>();
  ASSERT_TRUE((*s)->submit(request(tokens(10, 1), 14), first).ok());   // 6 blocks
  ASSERT_TRUE((*s)->submit(request(tokens(10, 2), 14), second).ok());  // 6 more: not while the first runs
  const auto a = first->wait(), b = second->wait();
  EXPECT_EQ(a.reason, FinishReason::kMaxTokens);
  EXPECT_EQ(b.reason, FinishReason::kMaxTokens);
  EXPECT_GT(b.queue_seconds, 0.005) << "the second waited for the first";
  EXPECT_EQ(backend.exhausted, 0);
}

// A job waiting for KV blocks is queued, though a slot is free: /metrics tells a front so.
TEST(KvAdmission, AJobWaitingForBlocksCountsAsQueuedWithASlotFree) {
  PooledBackend backend(8);
  auto s = Scheduler::create(backend, {.parallel = 2});
  ASSERT_TRUE(s.ok());
  auto first = std::make_shared<Stepper>();
  auto second = std::make_shared<Done>();
  ASSERT_TRUE((*s)->submit(request(tokens(10, 1), 14), first).ok());  // 6 blocks
  first->wait_for_token(1);
  ASSERT_TRUE((*s)->submit(request(tokens(10, 2), 14), second).ok());  // 6 more: not while the first runs
  EXPECT_EQ((*s)->stats().queued, 0u) << "not yet tried: a free slot may take it at the next step";
  first->allow(1);
  first->wait_for_token(2);  // a step later: the second has been tried, and waits for blocks
  EXPECT_EQ((*s)->stats().active, 1u);
  EXPECT_EQ((*s)->stats().queued, 1u);
  EXPECT_EQ(first->wait().reason, FinishReason::kMaxTokens);
  EXPECT_EQ(second->wait().reason, FinishReason::kMaxTokens);
  EXPECT_EQ((*s)->stats().queued, 0u);
  EXPECT_EQ(backend.exhausted, 0);
}

TEST(KvAdmission, CachedSequencesMakeRoomOldestFirst) {
  PooledBackend backend(8);
  auto s = Scheduler::create(backend, {.parallel = 1});
  ASSERT_TRUE(s.ok());
  const auto a = tokens(9, 1), b = tokens(9, 5);
  for (const auto& prompt : {a, b}) {
    auto done = std::make_shared<Done>();
    ASSERT_TRUE((*s)->submit(request(prompt, 3), done).ok());
    done->wait();
  }
  EXPECT_EQ((*s)->stats().cached_sequences, 2u);  // 3 blocks each, cached
  // Needs 5 blocks with 2 free: a's sequence (the older) goes. (This backend's sharing copies, so
  // b's is not reused here; model_backend_test covers real sharing.)
  std::vector<std::int32_t> longer = b;
  longer.insert(longer.end(), {0, 1, 2, 3, 4, 5, 6});
  auto done = std::make_shared<Done>();
  ASSERT_TRUE((*s)->submit(request(longer, 4), done).ok());
  const auto r = done->wait();
  EXPECT_EQ(r.reason, FinishReason::kMaxTokens);
  EXPECT_EQ(backend.exhausted, 0);
  auto again_a = std::make_shared<Done>();
  ASSERT_TRUE((*s)->submit(request(a, 1), again_a).ok());
  EXPECT_EQ(again_a->wait().cached_prompt_tokens, 0) << "a's cache was dropped for room";
}

TEST(KvAdmission, MemoryReliefShrinksThenEmptiesTheCache) {
  PooledBackend backend(64);
  auto s = Scheduler::create(backend, {.parallel = 1});
  ASSERT_TRUE(s.ok());
  for (std::int32_t i = 0; i < 4; ++i) {
    auto done = std::make_shared<Done>();
    ASSERT_TRUE((*s)->submit(request(tokens(9, i), 2), done).ok());
    done->wait();
  }
  auto settle = [&](std::size_t entries) {
    for (int i = 0; i < 200 && (*s)->stats().cached_sequences != entries; ++i) std::this_thread::sleep_for(5ms);
    return (*s)->stats();
  };
  ASSERT_EQ(settle(4).cached_sequences, 4u);
  (*s)->relieve_memory(CacheRelief::kShrink);
  EXPECT_EQ(settle(2).cached_sequences, 2u);
  (*s)->relieve_memory(CacheRelief::kDrop);
  const auto stats = settle(0);
  EXPECT_EQ(stats.cached_sequences, 0u);
  EXPECT_EQ(stats.pool.free_blocks, 64u) << "every block back";
}

}  // namespace
}  // namespace pensieve::engine
