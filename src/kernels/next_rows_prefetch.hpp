// kernels/next_rows_prefetch: asking for the next tile's rows while a float decode tile runs.
// A decode tile reads its rows side by side, several streams that the hardware prefetchers follow
// poorly; the next tile's rows are contiguous, so the tile asks for their lines in order, a few a
// step, into L2 (BENCHMARKS.md, twenty-first session). For the x86 variants' translation units.
#pragma once

#include <xmmintrin.h>

#include <cstddef>
#include <cstdint>

namespace pensieve::kernels {

class NextRowsPrefetch {
 public:
  // The tile's rows start at `first_row`, `tile_bytes` in all; it takes `steps` steps over them.
  NextRowsPrefetch(const std::uint8_t* first_row, std::size_t tile_bytes, std::size_t steps)
      : next_(reinterpret_cast<const char*>(first_row + tile_bytes)),
        lines_per_step_((tile_bytes / 64 + steps - 1) / steps) {}

  // Past the matrix's end is harmless: a prefetch never faults.
  void step() {
    for (std::size_t l = 0; l < lines_per_step_; ++l) _mm_prefetch(next_ + 64 * l, _MM_HINT_T1);
    next_ += 64 * lines_per_step_;
  }

 private:
  const char* next_;
  std::size_t lines_per_step_;
};

}  // namespace pensieve::kernels
