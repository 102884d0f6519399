#include <gtest/gtest.h>

#include <algorithm>

#include "fake_tree.hpp"
#include "memory/byte_size.hpp"
#include "memory/reader.hpp"

namespace pensieve::memory {
namespace {

using testing::FakeTree;

bool any_warning_contains(const MemoryReading& r, const std::string& needle) {
  return std::any_of(r.warnings.begin(), r.warnings.end(),
                     [&](const std::string& w) { return w.find(needle) != std::string::npos; });
}

// A v2 host with 16 GiB, 10 GiB available, the process in a 4 GiB cgroup using 3 GiB.
class ReaderTree : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.write_meminfo(16 * 1024 * 1024, 10 * 1024 * 1024);
    tree.write_process_files();
    tree.write("proc/self/mountinfo", "40 30 0:37 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n");
    tree.write("proc/self/cgroup", "0::/box\n");
    tree.mkdir("sys/fs/cgroup");
    tree.write("sys/fs/cgroup/box/memory.max", std::to_string(4 * kGiB) + "\n");
    tree.write("sys/fs/cgroup/box/memory.current", std::to_string(3 * kGiB) + "\n");
  }
  MemoryReader reader(MemorySource source = {}) {
    return MemoryReader(ReaderConfig{tree.root(), source, "self"});
  }
  FakeTree tree;
};

TEST_F(ReaderTree, AvailableIsTheLeastOfHostAndCgroupHeadroom) {
  auto r = reader().read();
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_TRUE(r.available_known);
  EXPECT_EQ(r.host_total_bytes, 16 * kGiB);
  EXPECT_EQ(r.host_available_bytes, 10 * kGiB);
  EXPECT_EQ(r.available_bytes, 1 * kGiB);  // 4 GiB limit − 3 GiB used
  EXPECT_EQ(r.total_bytes, 4 * kGiB);
  EXPECT_EQ(r.cgroup_limit_bytes, 4 * kGiB);
  EXPECT_EQ(r.limiting_cgroup, tree.path("sys/fs/cgroup/box"));
  ASSERT_TRUE(r.process.has_value());
  EXPECT_EQ(r.process->rss_bytes, 30000u * 1024);
  EXPECT_EQ(r.process->rss_file_bytes, 19000u * 1024);
  EXPECT_EQ(r.process->rss_anon_bytes, 10000u * 1024);
  ASSERT_TRUE(r.pressure.has_value());
  EXPECT_DOUBLE_EQ(r.pressure->some_avg10, 1.5);
  EXPECT_FALSE(r.swap_in_pages_per_second.has_value());  // needs two readings
}

TEST_F(ReaderTree, HostWinsWhenTighterThanTheCgroup) {
  tree.write_meminfo(16 * 1024 * 1024, 512 * 1024);
  auto r = reader().read();
  ASSERT_TRUE(r.available_known);
  EXPECT_EQ(r.available_bytes, 512 * kMiB);
}

TEST_F(ReaderTree, UnreadableMeminfoMakesAvailableUnknown) {
  tree.remove("proc/meminfo");
  auto r = reader().read();
  EXPECT_FALSE(r.available_known);
  EXPECT_TRUE(any_warning_contains(r, "meminfo"));
  tree.write("proc/meminfo", "MemTotal: 100 kB\n");
  r = reader().read();
  EXPECT_FALSE(r.available_known);
  EXPECT_TRUE(any_warning_contains(r, "MemAvailable"));
}

TEST_F(ReaderTree, GarbledCgroupFileMakesAvailableUnknown) {
  auto rd = reader();
  tree.write("sys/fs/cgroup/box/memory.current", "oops\n");
  auto r = rd.read();
  EXPECT_FALSE(r.available_known);
  EXPECT_TRUE(any_warning_contains(r, "memory.current"));
}

TEST_F(ReaderTree, MissingCgroupDirectoryIsReportedNotIgnored) {
  tree.write("proc/self/cgroup", "0::/elsewhere\n");
  auto r = reader().read();
  EXPECT_TRUE(r.available_known);  // the host reading still stands
  EXPECT_EQ(r.available_bytes, 10 * kGiB);
  EXPECT_TRUE(any_warning_contains(r, "elsewhere"));
}

TEST_F(ReaderTree, OptionalReadingsFailIntoWarnings) {
  tree.remove("proc/self/status");
  tree.remove("proc/vmstat");
  tree.remove("proc/pressure/memory");
  auto r = reader().read();
  EXPECT_TRUE(r.available_known);
  EXPECT_FALSE(r.process.has_value());
  EXPECT_FALSE(r.pressure.has_value());
  EXPECT_TRUE(any_warning_contains(r, "process RSS unknown"));
  EXPECT_TRUE(any_warning_contains(r, "swap activity unknown"));
  EXPECT_FALSE(any_warning_contains(r, "pressure"));  // kernels without PSI are normal
}

TEST_F(ReaderTree, SwapRateComesFromCounterDeltas) {
  auto rd = reader();
  (void)rd.read();
  tree.write("proc/vmstat", "pswpin 10\npswpout 20\n");
  auto still = rd.read();
  ASSERT_TRUE(still.swap_in_pages_per_second.has_value());
  EXPECT_EQ(*still.swap_in_pages_per_second, 0.0);
  EXPECT_EQ(*still.swap_out_pages_per_second, 0.0);
  tree.write("proc/vmstat", "pswpin 1010\npswpout 20\n");
  auto busy = rd.read();
  EXPECT_GT(*busy.swap_in_pages_per_second, 0.0);
  EXPECT_EQ(*busy.swap_out_pages_per_second, 0.0);
}

TEST_F(ReaderTree, FileSourceReplacesMeminfoAndIsReReadEverySample) {
  tree.write("rehearse/meminfo", FakeTree::meminfo_text(16 * 1024 * 1024, 800 * 1024));
  tree.write("sys/fs/cgroup/box/memory.max", "max\n");
  auto source = parse_memory_source("file:" + tree.path("rehearse/meminfo"));
  ASSERT_TRUE(source.ok());
  auto rd = reader(*source);
  auto r = rd.read();
  ASSERT_TRUE(r.available_known);
  EXPECT_EQ(r.available_bytes, 800 * kMiB);
  tree.write("rehearse/meminfo", FakeTree::meminfo_text(16 * 1024 * 1024, 3 * 1024 * 1024));
  EXPECT_EQ(rd.read().available_bytes, 3 * kGiB);
  tree.remove("rehearse/meminfo");
  r = rd.read();
  EXPECT_FALSE(r.available_known);
  EXPECT_TRUE(any_warning_contains(r, "rehearse/meminfo"));
}

TEST(MemorySourceOption, ParsesProcAndFile) {
  EXPECT_EQ(parse_memory_source("proc")->kind, MemorySource::Kind::kProc);
  EXPECT_EQ(parse_memory_source("")->kind, MemorySource::Kind::kProc);
  auto file = parse_memory_source("file:/tmp/mem info");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->kind, MemorySource::Kind::kMeminfoFile);
  EXPECT_EQ(file->path, "/tmp/mem info");
  EXPECT_EQ(file->to_string(), "file:/tmp/mem info");
  EXPECT_FALSE(parse_memory_source("file:").ok());
  auto bad = parse_memory_source("meminfo");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("file:PATH"), std::string::npos);
}

// The real /proc and /sys of the machine running the tests.
TEST(RealReader, ReadsThisMachine) {
  const ReaderConfig real_filesystem;
  MemoryReader rd(real_filesystem);
  auto r = rd.read();
  ASSERT_TRUE(r.available_known) << (r.warnings.empty() ? "" : r.warnings.front());
  EXPECT_GT(r.host_total_bytes, 0u);
  EXPECT_LE(r.available_bytes, r.host_available_bytes);
  EXPECT_LE(r.total_bytes, r.host_total_bytes);
  EXPECT_LE(r.available_bytes, r.total_bytes);
  ASSERT_TRUE(r.process.has_value());
  EXPECT_GT(r.process->rss_bytes, 0u);
  EXPECT_EQ(r.process->rss_bytes,
            r.process->rss_anon_bytes + r.process->rss_file_bytes + r.process->rss_shmem_bytes);
  auto second = rd.read();
  EXPECT_TRUE(second.swap_in_pages_per_second.has_value());
}

}  // namespace
}  // namespace pensieve::memory
