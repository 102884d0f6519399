#include "core/cpu_features.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace pensieve::core {
namespace {

// The kernel's own reading of the CPU flags (Linux x86) must agree with ours.
// The first line of /proc/cpuinfo that starts with `field`, or "" when there is none.
std::string proc_cpuinfo_line(const char* field) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return line;
  }
  return {};
}
std::string proc_cpu_flags() {
  const std::string line = proc_cpuinfo_line("flags");
  return line.empty() ? line : line + " ";
}

TEST(CpuFeaturesTest, AgreesWithProcCpuinfo) {
  const std::string flags = proc_cpu_flags();
  if (flags.empty()) GTEST_SKIP() << "no /proc/cpuinfo flags line on this system";
  auto has = [&](const char* name) { return flags.find(std::string(" ") + name + " ") != std::string::npos; };
  const CpuFeatures& f = cpu_features();
  EXPECT_EQ(f.avx2, has("avx2"));
  EXPECT_EQ(f.fma, has("fma"));
  EXPECT_EQ(f.f16c, has("f16c"));
  EXPECT_EQ(f.avx512f, has("avx512f"));
  EXPECT_EQ(f.avx512bw, has("avx512bw"));
  EXPECT_EQ(f.avx512vl, has("avx512vl"));
  EXPECT_EQ(f.avx512_vnni, has("avx512_vnni"));
  EXPECT_EQ(f.avx512_bf16, has("avx512_bf16"));
  EXPECT_FALSE(f.describe().empty());
}

TEST(CpuFeaturesTest, VendorAgreesWithProcCpuinfo) {
  const std::string vendor = proc_cpuinfo_line("vendor_id");
  if (vendor.empty()) GTEST_SKIP() << "no /proc/cpuinfo vendor_id line on this system";
  EXPECT_EQ(cpu_features().amd, vendor.find("AuthenticAMD") != std::string::npos) << vendor;
}

}  // namespace
}  // namespace pensieve::core
