#include "core/anonymous_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace pensieve::core {

Result<AnonymousMemory> AnonymousMemory::allocate(std::size_t bytes) {
  AnonymousMemory memory;
  if (bytes == 0) return memory;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return make_error(ErrorCode::kResourceExhausted,
                      "cannot allocate " + std::to_string(bytes >> 20) + " MiB: " + std::strerror(errno));
  }
  // Only a hint: without huge pages the memory works the same.
  ::madvise(p, bytes, MADV_HUGEPAGE);
  memory.data_ = static_cast<std::uint8_t*>(p);
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
