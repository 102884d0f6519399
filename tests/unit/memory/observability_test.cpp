#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <sstream>

#include "memory/health.hpp"
#include "memory/metrics.hpp"
#include "snapshot_builder.hpp"

namespace pensieve::memory {
namespace {

using testing::snapshot_with;
using testing::unknown_snapshot;

MemorySnapshot full_snapshot() {
  auto s = snapshot_with(3 * kGiB / 2, 4 * kGiB);
  s.reading.cgroup_limit_bytes = 4 * kGiB;
  s.reading.process = ProcessMemory{600 * kMiB, 100 * kMiB, 500 * kMiB, 0};
  s.reading.pressure = PressureStall{2.5, 1.0, 0.5};
  s.reading.swap_in_pages_per_second = 3.0;
  s.reading.swap_out_pages_per_second = 0.0;
  return s;
}

TEST(HealthJson, HasExactlyTheDocumentedFields) {
  const auto j = health_memory_json(full_snapshot(), 256 * kMiB, true);
  std::set<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
  EXPECT_EQ(keys, (std::set<std::string>{"status", "available_bytes", "available_gb", "total_bytes",
                                         "cgroup_limit_bytes", "process_rss_bytes", "kv_cache_bytes",
                                         "pressure_avg10", "accepting_requests", "thresholds"}));
  EXPECT_EQ(j["status"], "warning");
  EXPECT_EQ(j["available_bytes"], 3 * kGiB / 2);
  EXPECT_TRUE(j["available_gb"].is_number());
  EXPECT_DOUBLE_EQ(j["available_gb"].get<double>(), 1.5);
  EXPECT_EQ(j["total_bytes"], 4 * kGiB);
  EXPECT_EQ(j["cgroup_limit_bytes"], 4 * kGiB);
  EXPECT_EQ(j["process_rss_bytes"], 600 * kMiB);
  EXPECT_EQ(j["kv_cache_bytes"], 256 * kMiB);
  EXPECT_DOUBLE_EQ(j["pressure_avg10"].get<double>(), 2.5);
  EXPECT_EQ(j["accepting_requests"], true);
  EXPECT_EQ(j["thresholds"]["warning_below_bytes"], 2 * kGiB);
  EXPECT_EQ(j["thresholds"]["critical_below_bytes"], 1 * kGiB);
  EXPECT_EQ(j["thresholds"]["emergency_below_bytes"], 512 * kMiB);
}

TEST(HealthJson, UnknownFiguresAreNullNotZero) {
  const auto j = health_memory_json(unknown_snapshot(), 0, false);
  EXPECT_EQ(j["status"], "unknown");
  EXPECT_TRUE(j["available_bytes"].is_null());
  EXPECT_TRUE(j["available_gb"].is_null());
  EXPECT_TRUE(j["total_bytes"].is_null());
  EXPECT_TRUE(j["cgroup_limit_bytes"].is_null());
  EXPECT_TRUE(j["process_rss_bytes"].is_null());
  EXPECT_TRUE(j["pressure_avg10"].is_null());
  EXPECT_EQ(j["accepting_requests"], false);
}

// Splits a sample line `name{label="value"} number` into its name; empty when malformed.
// (Hand-written: std::regex trips a g++ 12 warning under the sanitizers.)
std::string sample_name(const std::string& line) {
  std::size_t i = 0;
  auto is_name_char = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
  };
  while (i < line.size() && is_name_char(line[i], i == 0)) ++i;
  if (i == 0) return "";
  const std::string name = line.substr(0, i);
  if (i < line.size() && line[i] == '{') {
    const std::size_t close = line.find('}', i);
    if (close == std::string::npos) return "";
    const std::string labels = line.substr(i + 1, close - i - 1);
    const std::size_t eq = labels.find("=\"");
    if (eq == std::string::npos || eq == 0 || labels.back() != '"' || labels.size() < eq + 3) return "";
    i = close + 1;
  }
  if (i >= line.size() || line[i] != ' ') return "";
  const std::string value = line.substr(i + 1);
  char* end = nullptr;
  std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size()) return "";
  return name;
}

// Every non-comment line must be a valid sample and each name needs a TYPE line first.
void expect_valid_exposition(const std::string& text) {
  std::set<std::string> typed;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("# TYPE ")) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.starts_with("# HELP ")) continue;
    const std::string name = sample_name(line);
    ASSERT_FALSE(name.empty()) << "bad line: " << line;
    EXPECT_TRUE(typed.count(name)) << "no TYPE before " << line;
  }
}

TEST(Prometheus, LineCheckerRejectsMalformedLines) {
  EXPECT_EQ(sample_name("pensieve_memory_tier 1"), "pensieve_memory_tier");
  EXPECT_EQ(sample_name("a_b{x=\"y\"} 2.5"), "a_b");
  EXPECT_EQ(sample_name("a_b{x=y} 2"), "");
  EXPECT_EQ(sample_name("a_b 2 3"), "");
  EXPECT_EQ(sample_name("a_b"), "");
  EXPECT_EQ(sample_name("9a 1"), "");
}

TEST(Prometheus, GaugesAndCounters) {
  MemoryMetrics metrics;
  metrics.count_refusal(RefusalReason::kTierCritical);
  metrics.count_refusal(RefusalReason::kTierCritical);
  metrics.count_refusal(RefusalReason::kNeverFits);
  metrics.emergency_cancellations = 4;
  metrics.count_transition_into(Tier::kCritical);
  metrics.admitted = 9;
  const std::string text = render_prometheus(full_snapshot(), metrics, {256 * kMiB, true});
  expect_valid_exposition(text);
  for (const std::string needle : {
           "pensieve_memory_available_bytes 1610612736\n",
           "pensieve_memory_total_bytes 4294967296\n",
           "pensieve_memory_cgroup_limit_bytes 4294967296\n",
           "pensieve_memory_process_rss_bytes{kind=\"file\"} 524288000\n",
           "pensieve_memory_process_rss_bytes{kind=\"anon\"} 104857600\n",
           "pensieve_memory_kv_cache_bytes 268435456\n",
           "pensieve_memory_pressure_some_avg10 2.5\n",
           "pensieve_memory_swap_pages_per_second{direction=\"in\"} 3\n",
           "pensieve_memory_tier 1\n",
           "pensieve_memory_tier_state{tier=\"warning\"} 1\n",
           "pensieve_memory_tier_state{tier=\"safe\"} 0\n",
           "pensieve_memory_accepting_requests 1\n",
           "pensieve_memory_refusals_total{reason=\"tier_critical\"} 2\n",
           "pensieve_memory_refusals_total{reason=\"never_fits\"} 1\n",
           "pensieve_memory_refusals_total{reason=\"would_exceed\"} 0\n",
           "pensieve_memory_emergency_cancellations_total 4\n",
           "pensieve_memory_tier_transitions_total{to=\"critical\"} 1\n",
           "pensieve_memory_admitted_total 9\n",
           "# TYPE pensieve_memory_refusals_total counter\n",
       }) {
    EXPECT_NE(text.find(needle), std::string::npos) << needle << " missing from:\n" << text;
  }
}

TEST(Prometheus, UnknownReadingsOmitGauges) {
  const std::string text = render_prometheus(unknown_snapshot(), MemoryMetrics{}, {0, false});
  expect_valid_exposition(text);
  EXPECT_EQ(text.find("pensieve_memory_available_bytes"), std::string::npos);
  EXPECT_EQ(text.find("pensieve_memory_cgroup_limit_bytes"), std::string::npos);
  EXPECT_NE(text.find("pensieve_memory_tier 4\n"), std::string::npos);
  EXPECT_NE(text.find("pensieve_memory_accepting_requests 0\n"), std::string::npos);
}

}  // namespace
}  // namespace pensieve::memory
