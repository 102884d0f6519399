#include "core/anonymous_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace pensieve::core {

namespace {

// The huge page size of x86-64 (and of 4 KiB-page arm64). Only an alignment hint: another size
// costs some huge pages at the ends, nothing else.
constexpr std::uintptr_t kHugePageBytes = std::uintptr_t{2} << 20;

}  // namespace

Result<AnonymousMemory> AnonymousMemory::allocate(std::size_t bytes) {
  AnonymousMemory memory;
  if (bytes == 0) return memory;
  // A block of a huge page or more starts on a huge page boundary: the kernel backs only whole
  // aligned huge pages, so an unaligned 2.4 MiB block would get none. Map a huge page more than
  // asked and give back what lies before the boundary and after the block.
  const std::size_t slack = bytes >= kHugePageBytes ? kHugePageBytes : 0;
  void* p = ::mmap(nullptr, bytes + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return make_error(ErrorCode::kResourceExhausted,
                      "cannot allocate " + std::to_string(bytes >> 20) + " MiB: " + std::strerror(errno));
  }
  auto* start = static_cast<std::uint8_t*>(p);
  if (slack != 0) {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    const std::size_t head = (kHugePageBytes - at % kHugePageBytes) % kHugePageBytes;
    // Whole pages: the block's own last page stays mapped whoever ends up using it.
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t block_pages = (bytes + page - 1) / page * page;
    if (head != 0) ::munmap(start, head);
    if (slack > head) ::munmap(start + head + block_pages, slack - head);
    start += head;
  }
  // Only a hint: without huge pages the memory works the same.
  ::madvise(start, bytes, MADV_HUGEPAGE);
  memory.data_ = start;
  memory.size_ = bytes;
  return memory;
}

AnonymousMemory::AnonymousMemory(AnonymousMemory&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

AnonymousMemory& AnonymousMemory::operator=(AnonymousMemory&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

AnonymousMemory::~AnonymousMemory() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

namespace {

// The pages wholly inside [begin, begin + bytes), dropped from this process.
void drop_pages(const std::uint8_t* begin, std::size_t bytes) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto first = (reinterpret_cast<std::uintptr_t>(begin) + page - 1) / page * page;
  const auto last = (reinterpret_cast<std::uintptr_t>(begin) + bytes) / page * page;
  // Best effort: if the kernel declines, the pages just stay resident.
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace

void AnonymousMemory::discard(std::size_t offset, std::size_t bytes) {
  if (offset >= size_) return;
  drop_pages(data_ + offset, std::min(bytes, size_ - offset));
}

void release_file_pages(std::span<const std::uint8_t> bytes) {
  drop_pages(bytes.data(), bytes.size());
}

}  // namespace pensieve::core
