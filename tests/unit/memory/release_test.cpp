#include "memory/release.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "memory/proc_parsers.hpp"
#include "memory/text_file.hpp"

namespace pensieve::memory {
namespace {

[[maybe_unused]] std::uint64_t anon_rss() {
  std::string text;
  EXPECT_TRUE(read_text_file("/proc/self/status", text).ok());
  auto mem = parse_process_status(text);
  EXPECT_TRUE(mem.ok());
  return mem.ok() ? mem->rss_anon_bytes : 0;
}

// `count` blocks of `size` bytes from malloc, written and read back so that they are resident
// (the read keeps the compiler from dropping stores to memory about to be freed).
[[maybe_unused]] std::vector<char*> resident_blocks(std::size_t count, std::size_t size) {
  std::vector<char*> blocks;
  blocks.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    char* p = static_cast<char*>(std::malloc(size));
    if (p == nullptr) std::abort();
    std::memset(p, static_cast<int>(i), size);
    blocks.push_back(p);
  }
  std::uint64_t sum = 0;
  for (char* p : blocks) sum += static_cast<unsigned char>(p[size - 1]);
  EXPECT_GT(sum, 0u);
  return blocks;
}

// Small blocks freed below a live one stay in glibc's free lists, resident, until trimmed.
TEST(Release, FreedHeapGoesBackToTheOs) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan replaces malloc; malloc_trim has nothing to return under it";
#else
  constexpr std::size_t kBlock = 4096;
  constexpr std::size_t kBlocks = 96 * 1024 * 1024 / kBlock;  // 96 MiB
  const std::uint64_t at_start = anon_rss();
  std::vector<char*> blocks = resident_blocks(kBlocks, kBlock);
  ASSERT_GT(anon_rss(), at_start + 90 * 1024 * 1024) << "the blocks never became resident";
  // The last block stays allocated: it sits above the others and keeps glibc from trimming the
  // top of the heap by itself, so only malloc_trim can return the pages below it.
  char* pin = blocks.back();
  blocks.pop_back();
  for (char* p : blocks) ASSERT_LT(p, pin);
  for (char* p : blocks) std::free(p);
  const std::uint64_t before = anon_rss();
  const bool released = release_free_heap();
  const std::uint64_t after = anon_rss();
  std::free(pin);
  EXPECT_TRUE(released);
  EXPECT_GT(before, after + 64 * 1024 * 1024) << "before " << before << " after " << after;
#endif
}

// Blocks another thread freed into the top of its own arena stay resident: malloc_trim shrinks only
// the main arena's top. Once every thread shares the main arena they go back like the rest.
TEST(Release, AnotherThreadsFreedHeapGoesBackWhenThreadsShareOneArena) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan replaces malloc; there are no glibc arenas under it";
#else
  // Before any thread but main has allocated: a thread keeps the arena it first got.
  ASSERT_TRUE(use_one_heap_arena());
  constexpr std::size_t kMiB = 1024 * 1024;
  // Freeing a 30 MiB block (mmapped) makes glibc serve smaller blocks from arenas from now on and
  // trim an arena's top by itself only past 60 MiB: what a server sees after one big body.
  void* big = std::malloc(30 * kMiB);
  ASSERT_NE(big, nullptr);
  std::memset(big, 1, 30 * kMiB);
  EXPECT_EQ(static_cast<volatile char*>(big)[30 * kMiB - 1], 1);
  std::free(big);
  const std::uint64_t at_start = anon_rss();
  std::thread([] {
    constexpr std::size_t kBlock = 256 * 1024;
    std::vector<char*> blocks = resident_blocks(48 * kMiB / kBlock, kBlock);
    // Newest first, so that each merges into the free top.
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
  }).join();
  const std::uint64_t before = anon_rss();
  ASSERT_GT(before, at_start + 40 * kMiB) << "the freed blocks did not stay resident: nothing to test";
  release_free_heap();
  const std::uint64_t after = anon_rss();
  EXPECT_LT(after, at_start + 8 * kMiB) << "start " << at_start << " before " << before << " after " << after;
#endif
}

}  // namespace
}  // namespace pensieve::memory
