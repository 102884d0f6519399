// kernels/scratch: see scratch.hpp.
#include "kernels/scratch.hpp"

#include <cstdlib>

namespace pensieve::kernels {
namespace {

constexpr unsigned kSlots = 3;

// Owns one thread's buffers; freed when the thread ends.
struct ScratchSet {
  std::uint8_t* data[kSlots] = {};
  std::size_t size[kSlots] = {};
  ~ScratchSet() {
    for (std::uint8_t* p : data) std::free(p);
  }
};

thread_local ScratchSet scratch_set;

}  // namespace

std::uint8_t* scratch(unsigned slot, std::size_t bytes) {
  if (scratch_set.size[slot] < bytes) {
    std::free(scratch_set.data[slot]);
    // Some headroom, so a slowly growing shape (a longer prompt) does not reallocate every call.
    const std::size_t size = (bytes + bytes / 4 + 63) / 64 * 64;
    scratch_set.data[slot] = static_cast<std::uint8_t*>(std::aligned_alloc(64, size));
    scratch_set.size[slot] = scratch_set.data[slot] != nullptr ? size : 0;
    if (scratch_set.data[slot] == nullptr) std::abort();
  }
  return scratch_set.data[slot];
}

}  // namespace pensieve::kernels
