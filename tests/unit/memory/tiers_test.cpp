#include "memory/tiers.hpp"

#include <gtest/gtest.h>

namespace pensieve::memory {
namespace {

const Thresholds kDefaults = resolve(ThresholdConfig{}, 16 * kGiB);

TEST(Tiers, DefaultThresholdsAreTheDocumentedOnes) {
  EXPECT_EQ(kDefaults.warning_below, 2 * kGiB);
  EXPECT_EQ(kDefaults.critical_below, 1 * kGiB);
  EXPECT_EQ(kDefaults.emergency_below, 512 * kMiB);
  EXPECT_EQ(kDefaults.hysteresis, 128 * kMiB);
}

TEST(Tiers, ExactBoundaries) {
  EXPECT_EQ(classify(2 * kGiB, kDefaults), Tier::kSafe);
  EXPECT_EQ(classify(2 * kGiB - 1, kDefaults), Tier::kWarning);
  EXPECT_EQ(classify(1 * kGiB, kDefaults), Tier::kWarning);
  EXPECT_EQ(classify(1 * kGiB - 1, kDefaults), Tier::kCritical);
  EXPECT_EQ(classify(512 * kMiB, kDefaults), Tier::kCritical);
  EXPECT_EQ(classify(512 * kMiB - 1, kDefaults), Tier::kEmergency);
  EXPECT_EQ(classify(0, kDefaults), Tier::kEmergency);
  EXPECT_EQ(classify(UINT64_MAX, kDefaults), Tier::kSafe);
}

TEST(Tiers, Names) {
  EXPECT_STREQ(to_string(Tier::kSafe), "safe");
  EXPECT_STREQ(to_string(Tier::kWarning), "warning");
  EXPECT_STREQ(to_string(Tier::kCritical), "critical");
  EXPECT_STREQ(to_string(Tier::kEmergency), "emergency");
  EXPECT_STREQ(to_string(Tier::kUnknown), "unknown");
}

TEST(Hysteresis, WorseAtOnceBetterOnlyPastTheMargin) {
  TierTracker t;
  EXPECT_EQ(t.update(3 * kGiB, kDefaults), Tier::kSafe);
  EXPECT_EQ(t.transitions(), 0u);  // the first reading is not a transition
  EXPECT_EQ(t.update(2 * kGiB - 1, kDefaults), Tier::kWarning);
  EXPECT_EQ(t.update(2 * kGiB, kDefaults), Tier::kWarning);
  EXPECT_EQ(t.update(2 * kGiB + 128 * kMiB - 1, kDefaults), Tier::kWarning);
  EXPECT_EQ(t.update(2 * kGiB + 128 * kMiB, kDefaults), Tier::kSafe);
  EXPECT_EQ(t.transitions(), 2u);
  EXPECT_EQ(t.previous(), Tier::kWarning);
}

TEST(Hysteresis, NoFlappingAroundABoundary) {
  TierTracker t;
  t.update(1 * kGiB - 1, kDefaults);  // critical
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(t.update(i % 2 ? 1 * kGiB + 1 : 1 * kGiB - 1, kDefaults), Tier::kCritical);
  }
  EXPECT_EQ(t.transitions(), 0u);
}

TEST(Hysteresis, RecoveryCanSkipTiers) {
  TierTracker t;
  t.update(100 * kMiB, kDefaults);
  EXPECT_EQ(t.current(), Tier::kEmergency);
  EXPECT_EQ(t.update(2 * kGiB + 64 * kMiB, kDefaults), Tier::kWarning);  // past critical's margin, not safe's
  TierTracker u;
  u.update(100 * kMiB, kDefaults);
  EXPECT_EQ(u.update(8 * kGiB, kDefaults), Tier::kSafe);
  EXPECT_EQ(u.transitions(), 1u);
  // Falling can also skip tiers.
  EXPECT_EQ(u.update(0, kDefaults), Tier::kEmergency);
}

TEST(Hysteresis, EmergencyEndsOnlyPastItsMargin) {
  TierTracker t;
  t.update(0, kDefaults);
  EXPECT_EQ(t.update(512 * kMiB + 128 * kMiB - 1, kDefaults), Tier::kEmergency);
  EXPECT_EQ(t.update(512 * kMiB + 128 * kMiB, kDefaults), Tier::kCritical);
}

TEST(Hysteresis, FailedReadingIsUnknownAndKeepsHistory) {
  TierTracker t;
  EXPECT_EQ(t.update(std::nullopt, kDefaults), Tier::kUnknown);
  EXPECT_EQ(t.update(1536 * kMiB, kDefaults), Tier::kWarning);
  EXPECT_EQ(t.update(std::nullopt, kDefaults), Tier::kUnknown);
  EXPECT_EQ(t.transitions(), 2u);
  // Back from unknown just above the safe boundary: still warning, the margin is not cleared.
  EXPECT_EQ(t.update(2 * kGiB + 1, kDefaults), Tier::kWarning);
  EXPECT_EQ(t.transitions(), 3u);
}

TEST(Thresholds, PercentOfTheEffectiveTotal) {
  ThresholdConfig config;
  config.warning_below = SizeSpec::percent_of_total(20);
  config.critical_below = SizeSpec::percent_of_total(10);
  config.emergency_below = SizeSpec::percent_of_total(5);
  config.hysteresis = SizeSpec::percent_of_total(1);
  ASSERT_TRUE(validate(config).ok());
  const Thresholds t = resolve(config, 10 * kGiB);
  EXPECT_EQ(t.warning_below, 2 * kGiB);
  EXPECT_EQ(t.critical_below, 1 * kGiB);
  EXPECT_EQ(t.emergency_below, 512 * kMiB);
  EXPECT_EQ(t.hysteresis, 10 * kGiB / 100);
  EXPECT_EQ(classify(1 * kGiB - 1, t), Tier::kCritical);
}

TEST(Thresholds, MixedSpecsAreClampedIntoOrder) {
  ThresholdConfig config;
  config.warning_below = SizeSpec::percent_of_total(10);  // 400 MiB of 4 GiB
  ASSERT_TRUE(validate(config).ok());
  const Thresholds t = resolve(config, 4 * kGiB);
  EXPECT_EQ(t.warning_below, 4 * kGiB / 10);
  EXPECT_EQ(t.critical_below, t.warning_below);
  EXPECT_EQ(t.emergency_below, t.warning_below);
}

TEST(Thresholds, ValidateRejectsDisorder) {
  ThresholdConfig config;
  config.critical_below = SizeSpec::absolute(3 * kGiB);
  auto s = validate(config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("critical"), std::string::npos);
  ThresholdConfig percents;
  percents.warning_below = SizeSpec::percent_of_total(5);
  percents.critical_below = SizeSpec::percent_of_total(10);
  EXPECT_FALSE(validate(percents).ok());
  ThresholdConfig emergency;
  emergency.emergency_below = SizeSpec::absolute(1536 * kMiB);
  EXPECT_FALSE(validate(emergency).ok());
}

}  // namespace
}  // namespace pensieve::memory
