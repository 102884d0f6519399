#include "memory/admission.hpp"

#include <gtest/gtest.h>

#include "snapshot_builder.hpp"

namespace pensieve::memory {
namespace {

using testing::snapshot_with;
using testing::unknown_snapshot;

AdmissionPolicy policy_with_baseline(std::uint64_t baseline) {
  AdmissionPolicy p;
  p.process_baseline_bytes = baseline;
  p.retry_after_seconds = 7;
  return p;
}

TEST(Admission, AdmitsWhenSafeAndRoomy) {
  const auto d =
      decide_admission(snapshot_with(6 * kGiB, 16 * kGiB), 512 * kMiB, policy_with_baseline(5 * kGiB));
  EXPECT_TRUE(d.admitted());
  EXPECT_EQ(d.http_status, 200);
  EXPECT_EQ(d.reason, RefusalReason::kNone);
  EXPECT_STREQ(d.memory_status(), "safe");
  EXPECT_EQ(d.available_gb_header(), "6.00");
  EXPECT_EQ(d.retry_after_seconds, 0u);
  EXPECT_TRUE(d.message.empty());
}

TEST(Admission, CriticalTierRefusesWith503) {
  const auto d = decide_admission(snapshot_with(800 * kMiB, 16 * kGiB), 1 * kMiB, policy_with_baseline(0));
  EXPECT_FALSE(d.admitted());
  EXPECT_EQ(d.verdict, AdmissionVerdict::kRefuseOverloaded);
  EXPECT_EQ(d.http_status, 503);
  EXPECT_EQ(d.reason, RefusalReason::kTierCritical);
  EXPECT_STREQ(d.memory_status(), "critical");
  EXPECT_EQ(d.retry_after_seconds, 7u);
  EXPECT_EQ(d.available_gb_header(), "0.78");
  EXPECT_NE(d.message.find("memory is critical"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("800.0 MiB available"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("needs about 1.0 MiB"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("Retry in 7 s"), std::string::npos) << d.message;
}

TEST(Admission, EmergencyTierRefusesWith503) {
  const auto d = decide_admission(snapshot_with(100 * kMiB, 16 * kGiB), 0, policy_with_baseline(0));
  EXPECT_EQ(d.http_status, 503);
  EXPECT_EQ(d.reason, RefusalReason::kTierCritical);
  EXPECT_STREQ(d.memory_status(), "emergency");
}

TEST(Admission, RefusesWhenAdmittingWouldCrossTheCriticalThreshold) {
  // Warning tier, 1.5 GiB available, 1 GiB kept free: exactly 512 MiB may be admitted.
  const auto snap = snapshot_with(1536 * kMiB, 16 * kGiB);
  ASSERT_EQ(snap.tier, Tier::kWarning);
  EXPECT_TRUE(decide_admission(snap, 512 * kMiB, policy_with_baseline(0)).admitted());
  const auto d = decide_admission(snap, 512 * kMiB + 1, policy_with_baseline(0));
  EXPECT_EQ(d.http_status, 503);
  EXPECT_EQ(d.reason, RefusalReason::kWouldExceed);
  EXPECT_EQ(d.critical_reserve_bytes, 1 * kGiB);
  EXPECT_NE(d.message.find("1.50 GiB available"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("keeps 1.00 GiB free"), std::string::npos) << d.message;
  // Also from safe: 2.5 GiB available cannot take a 2 GiB request.
  const auto from_safe =
      decide_admission(snapshot_with(2560 * kMiB, 16 * kGiB), 2 * kGiB, policy_with_baseline(0));
  EXPECT_EQ(from_safe.reason, RefusalReason::kWouldExceed);
  EXPECT_STREQ(from_safe.memory_status(), "safe");
}

TEST(Admission, NeverFitsIs400EvenWhenOtherwiseRefused) {
  // 16 GiB total − 5 GiB baseline − 1 GiB reserve: 10 GiB at most for one request.
  const auto policy = policy_with_baseline(5 * kGiB);
  const auto idle = snapshot_with(11 * kGiB, 16 * kGiB);
  EXPECT_TRUE(decide_admission(idle, 10 * kGiB, policy).admitted());
  const auto d = decide_admission(idle, 10 * kGiB + 1, policy);
  EXPECT_EQ(d.verdict, AdmissionVerdict::kRefuseNeverFits);
  EXPECT_EQ(d.http_status, 400);
  EXPECT_EQ(d.reason, RefusalReason::kNeverFits);
  EXPECT_EQ(d.max_request_bytes, 10 * kGiB);
  EXPECT_EQ(d.retry_after_seconds, 0u);
  for (const char* needle : {"can never fit", "10.00 GiB", "16.00 GiB total", "5.00 GiB for the server"}) {
    EXPECT_NE(d.message.find(needle), std::string::npos) << needle << " missing from: " << d.message;
  }
  // Under critical memory a hopeless request still gets 400: retrying would not help.
  EXPECT_EQ(decide_admission(snapshot_with(600 * kMiB, 16 * kGiB), 11 * kGiB, policy).http_status, 400);
  // A machine smaller than baseline + reserve can admit nothing.
  EXPECT_EQ(decide_admission(snapshot_with(3 * kGiB, 4 * kGiB), 1, policy).http_status, 400);
}

TEST(Admission, UnknownMemoryAdmitsByDefaultButSaysUnknown) {
  const auto d = decide_admission(unknown_snapshot(), 1 * kGiB, AdmissionPolicy{});
  EXPECT_TRUE(d.admitted());
  EXPECT_STREQ(d.memory_status(), "unknown");
  EXPECT_EQ(d.available_gb_header(), "unknown");
  AdmissionPolicy cautious;
  cautious.refuse_when_unknown = true;
  const auto r = decide_admission(unknown_snapshot(), 1 * kGiB, cautious);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.reason, RefusalReason::kUnknownMemory);
  EXPECT_NE(r.message.find("unknown"), std::string::npos);
}

TEST(Admission, PercentThresholdsApply) {
  ThresholdConfig config;
  config.warning_below = SizeSpec::percent_of_total(50);
  config.critical_below = SizeSpec::percent_of_total(25);
  config.emergency_below = SizeSpec::percent_of_total(10);
  const auto snap = snapshot_with(3 * kGiB, 8 * kGiB, config);  // 37.5%: warning, reserve 2 GiB
  EXPECT_TRUE(decide_admission(snap, 1 * kGiB, AdmissionPolicy{}).admitted());
  EXPECT_EQ(decide_admission(snap, 1 * kGiB + 1, AdmissionPolicy{}).reason, RefusalReason::kWouldExceed);
}

TEST(Admission, HeaderValueForAnySnapshot) {
  EXPECT_EQ(available_gb_header(snapshot_with(3 * kGiB / 2, 16 * kGiB)), "1.50");
  EXPECT_EQ(available_gb_header(unknown_snapshot()), "unknown");
}

}  // namespace
}  // namespace pensieve::memory
