#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "fake_tree.hpp"
#include "memory/sampler.hpp"

namespace pensieve::memory {
namespace {

using testing::FakeTree;
using namespace std::chrono_literals;

class SamplerTree : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.write_meminfo(16 * 1024 * 1024, 8 * 1024 * 1024);
    tree.write_process_files();
  }
  MemoryReader reader() { return MemoryReader(ReaderConfig{tree.root(), {}, "self"}); }
  void set_available_mib(std::uint64_t mib) { tree.write_meminfo(16 * 1024 * 1024, mib * 1024); }

  // Polls until pred holds (the background thread runs every few ms); false after 10 s.
  template <typename Pred>
  static bool eventually(Pred pred) {
    for (int i = 0; i < 2000; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
  FakeTree tree;
};

TEST_F(SamplerTree, FirstSnapshotIsReadyAtConstruction) {
  MemorySampler sampler(reader(), {}, 200ms);
  auto s = sampler.latest();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->sequence, 1u);
  EXPECT_EQ(s->tier, Tier::kSafe);
  EXPECT_EQ(s->reading.available_bytes, 8 * kGiB);
  EXPECT_EQ(s->thresholds.warning_below, 2 * kGiB);
}

TEST_F(SamplerTree, RefreshNowFollowsTheFileAndCountsTransitions) {
  MemoryMetrics metrics;
  MemorySampler sampler(reader(), {}, 200ms, &metrics);
  set_available_mib(800);
  auto s = sampler.refresh_now();
  EXPECT_EQ(s->sequence, 2u);
  EXPECT_EQ(s->tier, Tier::kCritical);
  EXPECT_EQ(s->tier_transitions, 1u);
  EXPECT_EQ(sampler.latest(), s);
  set_available_mib(100);
  EXPECT_EQ(sampler.refresh_now()->tier, Tier::kEmergency);
  set_available_mib(4096);
  EXPECT_EQ(sampler.refresh_now()->tier, Tier::kSafe);
  tree.remove("proc/meminfo");
  s = sampler.refresh_now();
  EXPECT_EQ(s->tier, Tier::kUnknown);
  EXPECT_FALSE(s->reading.warnings.empty());
  EXPECT_EQ(s->thresholds.warning_below, 2 * kGiB);  // kept from the last good reading
  EXPECT_EQ(metrics.samples.load(), 5u);
  EXPECT_EQ(metrics.failed_samples.load(), 1u);
  EXPECT_EQ(metrics.transitions_into_count(Tier::kCritical), 1u);
  EXPECT_EQ(metrics.transitions_into_count(Tier::kEmergency), 1u);
  EXPECT_EQ(metrics.transitions_into_count(Tier::kSafe), 1u);
  EXPECT_EQ(metrics.transitions_into_count(Tier::kUnknown), 1u);
}

TEST_F(SamplerTree, BackgroundThreadPublishesAndStopsCleanly) {
  MemorySampler sampler(reader(), {}, 5ms);
  std::atomic<int> heard{0};
  sampler.set_listener([&](const MemorySnapshot&) { heard.fetch_add(1); });
  sampler.start();
  sampler.start();  // idempotent
  set_available_mib(700);
  EXPECT_TRUE(eventually([&] { return sampler.latest()->tier == Tier::kCritical; }));
  EXPECT_TRUE(eventually([&] { return heard.load() >= 3; }));
  sampler.stop();
  const auto last = sampler.latest()->sequence;
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(sampler.latest()->sequence, last);
  sampler.stop();   // idempotent
  sampler.start();  // and restartable
  EXPECT_TRUE(eventually([&] { return sampler.latest()->sequence > last; }));
}

TEST_F(SamplerTree, ReadersSeeWholeSnapshotsWhileItRefreshes) {
  MemorySampler sampler(reader(), {}, 1ms);
  sampler.start();
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      std::uint64_t last_sequence = 0;
      while (!done.load()) {
        auto s = sampler.latest();
        // Tier and figures come from one reading; sequences never go backwards.
        if (s->sequence < last_sequence) torn.fetch_add(1);
        if (s->reading.available_known &&
            classify(s->reading.available_bytes, s->thresholds) == Tier::kSafe &&
            s->tier == Tier::kEmergency) {
          torn.fetch_add(1);
        }
        last_sequence = s->sequence;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    set_available_mib(i % 2 ? 100 : 8192);
    std::this_thread::sleep_for(1ms);
  }
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(torn.load(), 0);
}

TEST(RealSampler, SamplesThisMachine) {
  const ReaderConfig real_filesystem;
  MemorySampler sampler(MemoryReader(real_filesystem), {}, 200ms);
  auto s = sampler.refresh_now();
  EXPECT_NE(s->tier, Tier::kUnknown) << (s->reading.warnings.empty() ? "" : s->reading.warnings.front());
  EXPECT_EQ(s->tier, classify(s->reading.available_bytes, s->thresholds));
}

}  // namespace
}  // namespace pensieve::memory
