// kernels/scratch: see scratch.hpp.
#include "kernels/scratch.hpp"

#include <algorithm>
#include <cstdlib>

#include "kernels/activations.hpp"

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

// Bytes a slot holds once asked for `bytes`: some headroom, so a slowly growing shape (a longer
// prompt) does not reallocate every call.
std::size_t held_bytes(std::size_t bytes) {
  return (bytes + bytes / 4 + 63) / 64 * 64;
}

}  // namespace

std::uint8_t* scratch(unsigned slot, std::size_t bytes) {
  if (scratch_set.size[slot] < bytes) {
    std::free(scratch_set.data[slot]);
    const std::size_t size = held_bytes(bytes);
    scratch_set.data[slot] = static_cast<std::uint8_t*>(std::aligned_alloc(64, size));
    scratch_set.size[slot] = scratch_set.data[slot] != nullptr ? size : 0;
    if (scratch_set.data[slot] == nullptr) std::abort();
  }
  return scratch_set.data[slot];
}

std::size_t scratch_held(unsigned slot) {
  return scratch_set.size[slot];
}

std::size_t matmul_scratch_bytes(std::size_t rows, std::size_t cols) {
  // Slot 1: AVX2 Q6_K's transposed activations, or AVX-512's integer panels built four at a time
  // (at most 20 bytes a column for each panel's 16 rows; one input builds 256 columns at a time).
  const std::size_t transposed = rows * ((cols + 255) / 256) * sizeof(ActBlock256);
  const std::size_t built_panels = 20 * std::max<std::size_t>(4 * cols, 256);
  // Slot 0: AVX-512's figures of each input, 4 bytes a weight group (16 values at the least).
  const std::size_t per_input = rows * ((cols / 16 * 4 + 63) / 64 * 64);
  return held_bytes(std::max(transposed, built_panels)) + held_bytes(per_input);
}

}  // namespace pensieve::kernels
