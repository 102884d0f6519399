// core/anonymous_memory: a block of private anonymous memory straight from the kernel (mmap), for
// large buffers that live as long as a model: page-aligned, zero-filled, backed by huge pages
// where the kernel can (fewer TLB misses when a decode streams through them), returned whole on
// destruction rather than to the heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/result.hpp"

namespace pensieve::core {

class AnonymousMemory {
 public:
  // kResourceExhausted when the kernel refuses the mapping.
  static Result<AnonymousMemory> allocate(std::size_t bytes);

  AnonymousMemory() = default;
  AnonymousMemory(AnonymousMemory&& other) noexcept;
  AnonymousMemory& operator=(AnonymousMemory&& other) noexcept;
  AnonymousMemory(const AnonymousMemory&) = delete;
  AnonymousMemory& operator=(const AnonymousMemory&) = delete;
  ~AnonymousMemory();

  std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

  // Gives the pages wholly inside [offset, offset + bytes) back to the kernel: the memory is freed
  // at once and reads as zeros when next touched. For parts no longer in use, such as the blocks of
  // a KV pool that no sequence holds.
  void discard(std::size_t offset, std::size_t bytes);

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Drops this process's resident copy of the pages wholly inside `bytes`, part of a read-only
// file mapping: the memory is freed at once, and a later read faults the page back in from the
// file. For data that has been copied elsewhere and will rarely be read again.
void release_file_pages(std::span<const std::uint8_t> bytes);

}  // namespace pensieve::core
