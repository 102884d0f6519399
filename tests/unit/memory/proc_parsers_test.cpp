#include "memory/proc_parsers.hpp"

#include <gtest/gtest.h>

namespace pensieve::memory {
namespace {

// Shaped like a real /proc/meminfo (Linux 6.x), trimmed.
constexpr const char* kMeminfo =
    "MemTotal:       24683336 kB\n"
    "MemFree:        24485584 kB\n"
    "MemAvailable:   24419332 kB\n"
    "Buffers:            2732 kB\n"
    "Cached:           86684 kB\n"
    "SwapCached:            0 kB\n"
    "SwapTotal:       2097148 kB\n"
    "SwapFree:        1048576 kB\n"
    "HugePages_Total:       0\n";

TEST(Meminfo, ReadsTotalsInBytes) {
  auto info = parse_meminfo(kMeminfo);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->total_bytes, 24683336ull * 1024);
  EXPECT_EQ(info->available_bytes, 24419332ull * 1024);
  EXPECT_EQ(info->swap_total_bytes, 2097148ull * 1024);
  EXPECT_EQ(info->swap_free_bytes, 1048576ull * 1024);
}

TEST(Meminfo, MissingMemAvailableIsAnErrorNotAGuess) {
  auto info = parse_meminfo("MemTotal: 1000 kB\nMemFree: 900 kB\n");
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.error().message.find("MemAvailable"), std::string::npos);
  EXPECT_FALSE(parse_meminfo("").ok());
  EXPECT_FALSE(parse_meminfo("MemTotal: lots\nMemAvailable: 5 kB\n").ok());
  EXPECT_FALSE(parse_meminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n").ok());
}

TEST(Meminfo, KeysMustMatchWholeNames) {
  // "MemAvailableX" must not satisfy "MemAvailable".
  EXPECT_FALSE(parse_meminfo("MemTotal: 10 kB\nMemAvailableX: 5 kB\n").ok());
  auto info = parse_meminfo("MemTotal: 10 kB\nMemAvailable: 5 kB");  // no final newline
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->available_bytes, 5u * 1024);
  EXPECT_FALSE(find_kb_field("MemTotal: 18446744073709551615 kB\n", "MemTotal").has_value());
}

TEST(ProcessStatus, SplitsFileBackedFromAnonymous) {
  auto mem = parse_process_status(
      "Name:\tpensieve\nVmRSS:\t 4300000 kB\nRssAnon:\t  300000 kB\nRssFile:\t 3999000 kB\nRssShmem:\t 1000 "
      "kB\n");
  ASSERT_TRUE(mem.ok()) << mem.error().message;
  EXPECT_EQ(mem->rss_bytes, 4300000ull * 1024);
  EXPECT_EQ(mem->rss_anon_bytes, 300000ull * 1024);
  EXPECT_EQ(mem->rss_file_bytes, 3999000ull * 1024);
  EXPECT_EQ(mem->rss_shmem_bytes, 1000ull * 1024);
  EXPECT_FALSE(parse_process_status("VmRSS:\t 10 kB\n").ok());
}

TEST(Vmstat, FindsSwapCounters) {
  auto swap = parse_vmstat_swap("nr_free_pages 6116282\npswpin 17\npswpout 42\npgfault 1\n");
  ASSERT_TRUE(swap.ok());
  EXPECT_EQ(swap->pages_in, 17u);
  EXPECT_EQ(swap->pages_out, 42u);
  EXPECT_FALSE(parse_vmstat_swap("pswpin 1\n").ok());
  EXPECT_FALSE(parse_vmstat_swap("pswpinx 1\npswpout 1\n").ok());
}

TEST(Pressure, ReadsSomeAndFullAverages) {
  auto psi = parse_pressure(
      "some avg10=12.34 avg60=5.00 avg300=1.00 total=123456\nfull avg10=3.21 avg60=1.00 avg300=0.10 "
      "total=456\n");
  ASSERT_TRUE(psi.ok());
  EXPECT_DOUBLE_EQ(psi->some_avg10, 12.34);
  EXPECT_DOUBLE_EQ(psi->some_avg60, 5.0);
  EXPECT_DOUBLE_EQ(psi->full_avg10, 3.21);
  auto some_only = parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  ASSERT_TRUE(some_only.ok());
  EXPECT_DOUBLE_EQ(some_only->full_avg10, 0.0);
  EXPECT_FALSE(parse_pressure("full avg10=1.00 avg60=1.00 avg300=1.00 total=1\n").ok());
  EXPECT_FALSE(parse_pressure("some avg10=x avg60=1 total=1\n").ok());
}

}  // namespace
}  // namespace pensieve::memory
