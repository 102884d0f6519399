#include "core/memory_bandwidth.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "core/cpu_features.hpp"
#include "core/memory_read_loops.hpp"

namespace pensieve::core {
namespace {

TEST(MemoryReadLoopsTest, EveryVariantTheCpuHasSumsLikeThePortableOne) {
  constexpr std::size_t kWords = 64 * read_loops::kWordsPerStep;
  alignas(64) static std::uint64_t words[kWords];
  std::mt19937_64 rng(7);
  for (auto& w : words) w = rng();  // large values: the sums must wrap identically
  const std::uint64_t expected = read_loops::sum_portable(words, kWords);
  std::uint64_t plain = 0;
  for (std::uint64_t w : words) plain += w;
  EXPECT_EQ(expected, plain);
  if (cpu_features().avx2) {
    EXPECT_EQ(read_loops::sum_avx2(words, kWords), expected);
    EXPECT_EQ(read_loops::sum_avx2(words, read_loops::kWordsPerStep),
              read_loops::sum_portable(words, read_loops::kWordsPerStep));
    EXPECT_EQ(read_loops::sum_avx2_prefetched(words, kWords, 4096), expected);
    EXPECT_EQ(read_loops::sum_avx2_prefetched(words, read_loops::kWordsPerStep, 4096),
              read_loops::sum_portable(words, read_loops::kWordsPerStep));
  }
  if (cpu_features().avx512f) {
    EXPECT_EQ(read_loops::sum_avx512(words, kWords), expected);
    EXPECT_EQ(read_loops::sum_avx512(words, read_loops::kWordsPerStep),
              read_loops::sum_portable(words, read_loops::kWordsPerStep));
  }
}

TEST(MemoryBandwidthTest, SmallBufferGivesAPositiveFigure) {
  ThreadPool pool(2);
  auto result = measure_read_bandwidth(pool, {.buffer_bytes = 8 << 20, .passes = 3});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(std::isfinite(result->bytes_per_second));
  EXPECT_GT(result->bytes_per_second, 0);
  EXPECT_GE(result->bytes_per_second, result->worst_bytes_per_second);
  EXPECT_EQ(result->threads, 2u);
  EXPECT_EQ(result->passes, 3u);
  EXPECT_EQ(result->buffer_bytes, 8u << 20);
  EXPECT_TRUE(result->read_loop == "avx512" || result->read_loop == "avx2" || result->read_loop == "portable")
      << result->read_loop;
}

TEST(MemoryBandwidthTest, BufferIsRoundedToWholePagesPerThread) {
  ThreadPool pool(3);
  auto result = measure_read_bandwidth(pool, {.buffer_bytes = 100000, .passes = 1});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->buffer_bytes % (3 * 4096), 0u);
  EXPECT_LE(result->buffer_bytes, 100000u);
}

TEST(MemoryBandwidthTest, BufferSmallerThanAPagePerThreadIsRefused) {
  ThreadPool pool(2);
  auto result = measure_read_bandwidth(pool, {.buffer_bytes = 4096, .passes = 1});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("too small"), std::string::npos) << result.error().message;
}

TEST(MemoryBandwidthTest, AProbeMeasuresItsBufferAgainAndAgain) {
  ThreadPool pool(2);
  auto probe = BandwidthProbe::create(pool, {.buffer_bytes = 8 << 20});
  ASSERT_TRUE(probe.ok()) << probe.error().message;
  for (unsigned passes : {1u, 2u, 1u}) {
    auto reading = probe->measure(passes);
    ASSERT_TRUE(reading.ok()) << reading.error().message;
    EXPECT_TRUE(std::isfinite(reading->bytes_per_second) && reading->bytes_per_second > 0);
    EXPECT_EQ(reading->passes, passes);
    EXPECT_EQ(reading->buffer_bytes, 8u << 20);
  }
  EXPECT_FALSE(probe->measure(0).ok());
}

TEST(MemoryBandwidthTest, ZeroPassesIsRefused) {
  ThreadPool pool(1);
  EXPECT_FALSE(measure_read_bandwidth(pool, {.buffer_bytes = 1 << 20, .passes = 0}).ok());
}

TEST(MemoryBandwidthTest, DefaultBufferOutgrowsTheLastLevelCache) {
  const std::uint64_t bytes = default_bandwidth_buffer_bytes();
  EXPECT_GE(bytes, std::uint64_t{1} << 30);
  EXPECT_GE(bytes, 4 * last_level_cache_bytes());
  EXPECT_TRUE(std::has_single_bit(bytes));
}

}  // namespace
}  // namespace pensieve::core
