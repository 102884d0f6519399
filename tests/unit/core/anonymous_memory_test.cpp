#include "core/anonymous_memory.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace pensieve::core {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::size_t page_bytes() {
  return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// Whether the page at `at` (page-aligned) is mapped in this process: mincore fails with ENOMEM on
// an unmapped range.
bool mapped(const std::uint8_t* at) {
  unsigned char resident = 0;
  if (::mincore(const_cast<std::uint8_t*>(at), page_bytes(), &resident) == 0) return true;
  EXPECT_EQ(errno, ENOMEM);
  return false;
}

bool all_zero(const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

TEST(AnonymousMemoryTest, SmallBlockIsPageAlignedZeroedAndWritable) {
  auto m = AnonymousMemory::allocate(10000);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->size(), 10000u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m->data()) % page_bytes(), 0u);
  EXPECT_TRUE(all_zero(m->data(), m->size()));
  m->data()[9999] = 7;
  EXPECT_EQ(m->data()[9999], 7);
}

// A block of a huge page or more starts on a huge page boundary (so the kernel can back all of it
// with huge pages), and the extra mapped to find that boundary is given back.
TEST(AnonymousMemoryTest, LargeBlockStartsOnAHugePageAndKeepsNoSlack) {
  for (std::size_t bytes : {kHugePage, kHugePage + 100, 5 * kHugePage / 2 + 4096}) {
    auto m = AnonymousMemory::allocate(bytes);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->size(), bytes);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m->data()) % kHugePage, 0u) << bytes;
    EXPECT_TRUE(all_zero(m->data(), bytes));
    m->data()[0] = 1;
    m->data()[bytes - 1] = 2;
    const std::size_t pages = (bytes + page_bytes() - 1) / page_bytes() * page_bytes();
    EXPECT_TRUE(mapped(m->data() + pages - page_bytes())) << bytes;
    EXPECT_FALSE(mapped(m->data() + pages)) << bytes;  // the slack after the block is unmapped
  }
}

TEST(AnonymousMemoryTest, DiscardedPagesReadAsZeros) {
  auto m = AnonymousMemory::allocate(3 * kHugePage);
  ASSERT_TRUE(m.ok()) << m.error().message;
  for (std::size_t i = 0; i < m->size(); i += 512) m->data()[i] = 9;
  m->discard(kHugePage, kHugePage);
  EXPECT_TRUE(all_zero(m->data() + kHugePage, kHugePage));
  EXPECT_EQ(m->data()[kHugePage - 512], 9);
  EXPECT_EQ(m->data()[2 * kHugePage], 9);
}

TEST(AnonymousMemoryTest, MovedBlockHasOneOwner) {
  auto m = AnonymousMemory::allocate(kHugePage);
  ASSERT_TRUE(m.ok());
  std::uint8_t* data = m->data();
  AnonymousMemory moved(std::move(*m));
  EXPECT_EQ(moved.data(), data);
  EXPECT_EQ(m->data(), nullptr);
  EXPECT_EQ(m->size(), 0u);
}

}  // namespace
}  // namespace pensieve::core
