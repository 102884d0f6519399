#include "memory/emergency.hpp"

#include <gtest/gtest.h>

#include "snapshot_builder.hpp"

namespace pensieve::memory {
namespace {

using std::chrono::seconds;
using testing::snapshot_with;

const auto kT0 = std::chrono::steady_clock::time_point{} + seconds(1000);

std::vector<RunningGeneration> three_running() {
  return {{1, kT0, 200 * kMiB}, {2, kT0 + seconds(5), 100 * kMiB}, {3, kT0 + seconds(9), 300 * kMiB}};
}

TEST(Emergency, NothingOutsideTheEmergencyTier) {
  EmergencyPolicy policy;
  const auto running = three_running();
  EXPECT_TRUE(policy.decide(snapshot_with(700 * kMiB, 16 * kGiB), running).empty());  // critical
  EXPECT_TRUE(policy.decide(snapshot_with(8 * kGiB, 16 * kGiB), running).empty());
  EXPECT_TRUE(policy.decide(snapshot_with(100 * kMiB, 16 * kGiB), {}).empty());
  EXPECT_TRUE(policy.records().empty());
}

TEST(Emergency, CancelsNewestFirstUntilRecoveryIsExpected) {
  EmergencyPolicy policy;
  // 300 MiB available; leaving emergency takes 512 MiB + 128 MiB margin: 340 MiB must be freed.
  const auto snap = snapshot_with(300 * kMiB, 16 * kGiB);
  ASSERT_EQ(snap.tier, Tier::kEmergency);
  const auto running = three_running();
  const auto ids = policy.decide(snap, running);
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{3, 2}));
  const auto log = policy.records();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].cancelled_ids, ids);
  EXPECT_EQ(log[0].expected_freed_bytes, 400 * kMiB);
  EXPECT_EQ(log[0].target_bytes, 640 * kMiB);
  EXPECT_EQ(log[0].running, 3u);
  EXPECT_EQ(log[0].snapshot_sequence, 7u);
  EXPECT_NE(log[0].message.find("ids 3, 2"), std::string::npos) << log[0].message;
  EXPECT_NE(log[0].message.find("300.0 MiB available"), std::string::npos) << log[0].message;
  EXPECT_EQ(policy.cancelled_total(), 2u);
}

TEST(Emergency, DoesNotCancelTwiceWhileCancellationsAreInFlight) {
  EmergencyPolicy policy;
  const auto snap = snapshot_with(300 * kMiB, 16 * kGiB);
  const auto running = three_running();
  ASSERT_EQ(policy.decide(snap, running).size(), 2u);
  // Next tick: the engine still lists 2 and 3; their bytes count as on the way back.
  EXPECT_TRUE(policy.decide(snap, running).empty());
  // They finish, but memory did not come back as hoped: the next newest goes.
  const std::vector<RunningGeneration> left{running[0]};
  EXPECT_EQ(policy.decide(snapshot_with(200 * kMiB, 16 * kGiB), left), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(policy.records().size(), 2u);
  EXPECT_EQ(policy.cancelled_total(), 3u);
}

TEST(Emergency, CancelsEverythingWhenEvenThatIsNotEnough) {
  EmergencyPolicy policy;
  const auto ids = policy.decide(snapshot_with(0, 16 * kGiB), three_running());
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{3, 2, 1}));
}

TEST(Emergency, UnknownSizeStopsAndWaitsForTheNextSnapshot) {
  EmergencyPolicy policy;
  auto running = three_running();
  running[2].estimated_bytes = 0;  // newest: size not known
  const auto snap = snapshot_with(300 * kMiB, 16 * kGiB);
  EXPECT_EQ(policy.decide(snap, running), (std::vector<std::uint64_t>{3}));
  EXPECT_TRUE(policy.decide(snap, running).empty());  // 3 still winding down
  running.pop_back();
  EXPECT_EQ(policy.decide(snap, running), (std::vector<std::uint64_t>{2, 1}));
}

TEST(Emergency, SameStartTimeBreaksTiesByNewerId) {
  EmergencyPolicy policy;
  const std::vector<RunningGeneration> running{{10, kT0, kGiB}, {11, kT0, kGiB}};
  EXPECT_EQ(policy.decide(snapshot_with(300 * kMiB, 16 * kGiB), running), (std::vector<std::uint64_t>{11}));
}

TEST(Emergency, LogIsBounded) {
  EmergencyPolicy policy(2);
  for (std::uint64_t id = 1; id <= 5; ++id) {
    const std::vector<RunningGeneration> one{{id, kT0, kGiB}};
    ASSERT_EQ(policy.decide(snapshot_with(100 * kMiB, 16 * kGiB), one).size(), 1u);
  }
  const auto log = policy.records();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].cancelled_ids.front(), 4u);
  EXPECT_EQ(log[1].cancelled_ids.front(), 5u);
  EXPECT_EQ(policy.cancelled_total(), 5u);
}

}  // namespace
}  // namespace pensieve::memory
