#include "memory/memory_policy.hpp"

#include <gtest/gtest.h>

#include "fake_tree.hpp"

namespace pensieve::memory {
namespace {

using testing::FakeTree;

// The engine side as the policy sees it: records what it was asked to do.
struct RecordingWorkload final : Workload {
  struct State {
    std::vector<std::string> calls;
    bool cache_holds_memory = false;
    std::vector<RunningGeneration> running;
    std::uint64_t ended = 0;
  };
  explicit RecordingWorkload(State& s) : state(s) {}
  void shrink_cache() override { state.calls.push_back("shrink"); }
  void drop_cache() override { state.calls.push_back("drop"); }
  bool cache_holds_memory() const override { return state.cache_holds_memory; }
  std::vector<RunningGeneration> running() const override { return state.running; }
  void cancel(std::uint64_t id, const std::string&) override {
    state.calls.push_back("cancel " + std::to_string(id));
  }
  std::uint64_t ended() const override { return state.ended; }
  std::optional<std::uint64_t> kv_cache_bytes() const override { return 3 * kMiB; }
  State& state;
};

class MemoryPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.write_process_files();
    set_available_mib(8192);
    MemoryGuardConfig config;
    config.reader = ReaderConfig{tree.root(), {}, "self"};
    config.start_sampler = false;
    guard = std::move(MemoryGuard::create(config).value());
    policy = MemoryPolicy::start(*guard, std::make_unique<RecordingWorkload>(work), {},
                                 [this](const std::string& line) { lines.push_back(line); });
  }
  void read_mib(std::uint64_t mib) {
    set_available_mib(mib);
    guard->refresh_now();
  }
  void set_available_mib(std::uint64_t mib) { tree.write_meminfo(16 * 1024 * 1024, mib * 1024); }

  FakeTree tree;
  RecordingWorkload::State work;
  std::vector<std::string> lines;
  std::unique_ptr<MemoryGuard> guard;
  std::shared_ptr<MemoryPolicy> policy;
};

TEST_F(MemoryPolicyTest, CachedPromptsGoFirstThenTheNewestGenerations) {
  read_mib(1800);  // warning: half the cache, once
  read_mib(1700);
  EXPECT_EQ(work.calls, (std::vector<std::string>{"shrink"}));
  read_mib(900);  // critical: all of it, at every reading
  read_mib(900);
  EXPECT_EQ(work.calls, (std::vector<std::string>{"shrink", "drop", "drop"}));

  work.calls.clear();
  const auto now = std::chrono::steady_clock::now();
  work.running = {{1, now - std::chrono::seconds(2), 0}, {2, now, 0}};
  work.cache_holds_memory = true;
  read_mib(300);  // emergency: the cache is dropped, and nothing cancelled while it held memory
  EXPECT_EQ(work.calls, (std::vector<std::string>{"drop"}));
  work.calls.clear();
  work.cache_holds_memory = false;
  read_mib(300);
  EXPECT_EQ(work.calls, (std::vector<std::string>{"cancel 2"})) << "the newest, and the next reading tells";
  EXPECT_NE(lines.back().find("memory emergency"), std::string::npos) << lines.back();
}

TEST_F(MemoryPolicyTest, HeapIsReleasedOncePerReadingAfterWorkEnds) {
  const auto& releases = guard->metrics().heap_releases;
  guard->refresh_now();
  EXPECT_EQ(releases.load(), 0u);
  work.ended = 1;
  guard->refresh_now();
  guard->refresh_now();
  EXPECT_EQ(releases.load(), 1u);
  policy->count_response();
  policy->count_response();
  guard->refresh_now();
  EXPECT_EQ(releases.load(), 2u);
}

TEST_F(MemoryPolicyTest, HealthShowsWhatTheKvCacheHolds) {
  EXPECT_EQ(policy->health_json()["kv_cache_bytes"], 3 * kMiB) << policy->health_json();
  EXPECT_EQ(lines.front(), "memory: safe, 8.00 GiB available of 16.00 GiB");
}

TEST_F(MemoryPolicyTest, ABigBodyIsJudgedByWhatHandlingItTakes) {
  read_mib(1100);  // 76 MiB above the 1 GiB kept free
  EXPECT_TRUE(policy->admission().admit_body(512 * 1024).admitted()) << "small bodies are judged later";
  EXPECT_TRUE(policy->admission().admit_body(16 * kMiB).admitted());
  EXPECT_FALSE(policy->admission().admit_body(24 * kMiB).admitted());
  EXPECT_EQ(guard->metrics().admitted.load(), 0u) << "an admitted body is counted later, with its request";
}

}  // namespace
}  // namespace pensieve::memory
