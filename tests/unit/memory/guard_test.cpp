#include "memory/guard.hpp"

#include <gtest/gtest.h>

#include "fake_tree.hpp"

namespace pensieve::memory {
namespace {

using testing::FakeTree;
using namespace std::chrono_literals;

class GuardTree : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.write_meminfo(16 * 1024 * 1024, 8 * 1024 * 1024);
    tree.write_process_files();
  }
  std::unique_ptr<MemoryGuard> guard(MemoryGuardConfig config = {}) {
    config.reader = ReaderConfig{tree.root(), {}, "self"};
    config.start_sampler = false;
    auto g = MemoryGuard::create(std::move(config));
    EXPECT_TRUE(g.ok());
    return std::move(g).value();
  }
  void set_available_mib(std::uint64_t mib) { tree.write_meminfo(16 * 1024 * 1024, mib * 1024); }
  FakeTree tree;
};

TEST_F(GuardTree, RejectsABadConfiguration) {
  MemoryGuardConfig config;
  config.thresholds.emergency_below = SizeSpec::absolute(4 * kGiB);
  auto g = MemoryGuard::create(config);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message.find("emergency"), std::string::npos);
  MemoryGuardConfig zero;
  zero.interval = 0ms;
  EXPECT_FALSE(MemoryGuard::create(zero).ok());
}

TEST_F(GuardTree, AdmitsRefusesAndCounts) {
  auto g = guard();
  EXPECT_TRUE(g->admit(kGiB).admitted());
  set_available_mib(900);
  g->refresh_now();
  auto refused = g->admit(kMiB);
  EXPECT_EQ(refused.http_status, 503);
  EXPECT_EQ(refused.reason, RefusalReason::kTierCritical);
  EXPECT_FALSE(g->accepting_requests());
  set_available_mib(4096);
  g->refresh_now();
  EXPECT_TRUE(g->accepting_requests());
  EXPECT_EQ(g->admit(3 * kGiB + 1).reason, RefusalReason::kWouldExceed);
  EXPECT_EQ(g->admit(15 * kGiB + 1).http_status, 400);  // 16 GiB − 1 GiB reserve, no baseline yet
  EXPECT_EQ(g->metrics().admitted.load(), 1u);
  EXPECT_EQ(g->metrics().refusal_count(RefusalReason::kTierCritical), 1u);
  EXPECT_EQ(g->metrics().refusal_count(RefusalReason::kWouldExceed), 1u);
  EXPECT_EQ(g->metrics().refusal_count(RefusalReason::kNeverFits), 1u);
}

TEST_F(GuardTree, BaselineNarrowsWhatCanEverFit) {
  auto g = guard();
  g->mark_baseline();
  EXPECT_EQ(g->baseline_bytes(), 30000u * 1024);  // VmRSS of the fake process
  const std::uint64_t max = 16 * kGiB - 30000u * 1024 - kGiB;
  EXPECT_NE(g->admit(max).http_status, 400);
  EXPECT_EQ(g->admit(max + 1).http_status, 400);
}

TEST_F(GuardTree, HealthAndMetricsFollowTheSnapshot) {
  auto g = guard();
  g->set_kv_cache_bytes(64 * kMiB);
  auto health = g->health_json();
  EXPECT_EQ(health["status"], "safe");
  EXPECT_EQ(health["kv_cache_bytes"], 64 * kMiB);
  EXPECT_EQ(health["accepting_requests"], true);
  tree.remove("proc/meminfo");
  g->refresh_now();
  health = g->health_json();
  EXPECT_EQ(health["status"], "unknown");
  EXPECT_TRUE(health["available_bytes"].is_null());
  EXPECT_EQ(health["accepting_requests"], true);  // default policy admits on unknown
  EXPECT_NE(g->prometheus_text().find("pensieve_memory_failed_samples_total 1\n"), std::string::npos);
}

TEST_F(GuardTree, EmergencyCancellationsAreCounted) {
  auto g = guard();
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<RunningGeneration> running{{1, t0, kGiB}, {2, t0 + 1s, kGiB}};
  EXPECT_TRUE(g->emergency_cancellations(running).empty());
  set_available_mib(200);
  g->refresh_now();
  EXPECT_EQ(g->emergency_cancellations(running), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(g->metrics().emergency_cancellations.load(), 1u);
  EXPECT_EQ(g->emergency_records().size(), 1u);
  EXPECT_NE(g->prometheus_text().find("pensieve_memory_emergency_cancellations_total 1\n"),
            std::string::npos);
}

TEST_F(GuardTree, RehearsalFileDrivesTheRealLogic) {
  tree.write("rehearse", FakeTree::meminfo_text(16 * 1024 * 1024, 700 * 1024));
  MemoryGuardConfig config;
  config.interval = 5ms;
  config.reader = ReaderConfig{tree.root(), *parse_memory_source("file:" + tree.path("rehearse")), "self"};
  auto created = MemoryGuard::create(config);
  ASSERT_TRUE(created.ok());
  auto& g = *created;
  EXPECT_EQ(g->admit(kMiB).http_status, 503);
  tree.write("rehearse", FakeTree::meminfo_text(16 * 1024 * 1024, 6 * 1024 * 1024));
  // The background sampler picks the edit up on its own.
  bool admitted = false;
  for (int i = 0; i < 2000 && !admitted; ++i) {
    admitted = g->admit(kMiB).admitted();
    if (!admitted) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(admitted);
  g->stop();
}

}  // namespace
}  // namespace pensieve::memory
