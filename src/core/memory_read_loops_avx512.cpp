// Compiled with -mavx512f; includes nothing with inline code of its own beyond the intrinsics.
#include <immintrin.h>

#include "core/memory_read_loops.hpp"

namespace pensieve::core::read_loops {

std::uint64_t sum_avx512(const std::uint64_t* words, std::size_t n) {
  // One 64-byte load per cache line, four lines in flight per step.
  __m512i a0 = _mm512_setzero_si512();
  __m512i a1 = _mm512_setzero_si512();
  __m512i a2 = _mm512_setzero_si512();
  __m512i a3 = _mm512_setzero_si512();
  for (std::size_t i = 0; i < n; i += kWordsPerStep) {
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(words + i));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(words + i + 8));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(words + i + 16));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(words + i + 24));
  }
  // Spilled and added by hand: GCC 12 warns falsely inside _mm512_reduce_add_epi64.
  alignas(64) std::uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
  std::uint64_t total = 0;
  for (std::uint64_t lane : lanes) total += lane;
  return total;
}

}  // namespace pensieve::core::read_loops
