// Runs the memory reader inside a real memory-limited cgroup made by scripts/cgroup-run.sh.
// The outer test re-executes this binary through the script; the inner run (recognised by
// PENSIEVE_CGROUP_DIR) checks what the reader sees. Skipped, saying why, only when this machine
// cannot create such a cgroup (the script's exit status 77).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "memory/admission.hpp"
#include "memory/reader.hpp"
#include "memory/sampler.hpp"

namespace pensieve::memory {
namespace {

constexpr std::uint64_t kLimit = 256 * kMiB;

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(RealCgroup, ReaderSeesTheLimitOfTheCgroupItRunsIn) {
  const char* inner_dir = std::getenv("PENSIEVE_CGROUP_DIR");
  if (!inner_dir) {
    // Outer run: re-execute this very test inside a fresh 256 MiB cgroup.
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    const std::string log = ::testing::TempDir() + "pensieve-cgroup-run.log";
    const std::string command = std::string("'") + PENSIEVE_SOURCE_DIR + "/scripts/cgroup-run.sh' 256M -- '" +
                                self + "' --gtest_filter=RealCgroup.* > '" + log + "' 2>&1";
    const int raw = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(raw)) << "cgroup-run.sh did not exit normally";
    const int status = WEXITSTATUS(raw);
    const std::string output = read_all(log);
    std::filesystem::remove(log);
    if (status == 77) GTEST_SKIP() << "no memory-limited cgroup can be created here:\n" << output;
    EXPECT_EQ(status, 0) << output;
    EXPECT_NE(output.find("oom_kills=0"), std::string::npos) << output;
    return;
  }

  // Inner run, inside the cgroup.
  const ReaderConfig real_filesystem;
  MemoryReader reader(real_filesystem);
  const MemoryReading before = reader.read();
  ASSERT_TRUE(before.available_known) << (before.warnings.empty() ? "" : before.warnings.front());
  ASSERT_TRUE(before.cgroup_limit_bytes.has_value()) << "reader found no cgroup limit in " << inner_dir;
  EXPECT_EQ(*before.cgroup_limit_bytes, kLimit);
  EXPECT_EQ(before.total_bytes, kLimit);
  EXPECT_EQ(before.limiting_cgroup, inner_dir);
  EXPECT_LT(before.available_bytes, kLimit);
  EXPECT_GT(before.available_bytes, kLimit / 2);

  // Use 96 MiB; the headroom the reader reports must shrink by about as much.
  constexpr std::size_t kUse = 96 * kMiB;
  std::vector<char> ballast(kUse);
  std::memset(ballast.data(), 1, ballast.size());
  const MemoryReading after = reader.read();
  ASSERT_TRUE(after.available_known);
  EXPECT_LE(after.available_bytes + 88 * kMiB, before.available_bytes)
      << "before " << before.available_bytes << " after " << after.available_bytes;
  EXPECT_GE(after.available_bytes + 128 * kMiB, before.available_bytes);
  EXPECT_EQ(static_cast<unsigned char>(ballast[kUse / 2]), 1u);

  // Admission on this reading: thresholds as shares of the 256 MiB total.
  ThresholdConfig thresholds;
  thresholds.warning_below = SizeSpec::percent_of_total(40);
  thresholds.critical_below = SizeSpec::percent_of_total(20);
  thresholds.emergency_below = SizeSpec::percent_of_total(10);
  MemorySampler sampler(MemoryReader(real_filesystem), thresholds, std::chrono::milliseconds(200));
  const auto snapshot = sampler.refresh_now();
  EXPECT_EQ(snapshot->reading.total_bytes, kLimit);
  const std::uint64_t headroom = snapshot->reading.available_bytes;
  const auto refused = decide_admission(*snapshot, headroom, AdmissionPolicy{});
  EXPECT_EQ(refused.http_status, 503) << refused.message;
  EXPECT_EQ(decide_admission(*snapshot, 1 * kMiB, AdmissionPolicy{}).http_status, 200)
      << "tier " << to_string(snapshot->tier) << ", " << headroom << " bytes available";
}

}  // namespace
}  // namespace pensieve::memory
