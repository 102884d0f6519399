// Compiled with -mavx2; includes nothing with inline code of its own beyond the intrinsics.
#include <immintrin.h>

#include "core/memory_read_loops.hpp"

namespace pensieve::core::read_loops {

std::uint64_t sum_avx2(const std::uint64_t* words, std::size_t n) {
  // Four independent accumulators keep four loads in flight per step.
  __m256i a0 = _mm256_setzero_si256();
  __m256i a1 = _mm256_setzero_si256();
  __m256i a2 = _mm256_setzero_si256();
  __m256i a3 = _mm256_setzero_si256();
  for (std::size_t i = 0; i < n; i += kWordsPerStep) {
    for (std::size_t half = 0; half < kWordsPerStep; half += 16) {
      const std::uint64_t* p = words + i + half;
      a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
      a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 4)));
      a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 8)));
      a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 12)));
    }
  }
  const __m256i sum = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  const __m128i pair = _mm_add_epi64(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(pair)) +
         static_cast<std::uint64_t>(_mm_extract_epi64(pair, 1));
}

std::uint64_t sum_avx2_prefetched(const std::uint64_t* words, std::size_t n, std::size_t ahead) {
  __m256i a0 = _mm256_setzero_si256();
  __m256i a1 = _mm256_setzero_si256();
  const auto* bytes = reinterpret_cast<const char*>(words);
  for (std::size_t i = 0; i < n; i += 8) {
    // A prefetch past the end is harmless: it never faults.
    _mm_prefetch(bytes + i * sizeof(std::uint64_t) + ahead, _MM_HINT_T0);
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(words + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(words + i + 4)));
  }
  const __m256i sum = _mm256_add_epi64(a0, a1);
  const __m128i pair = _mm_add_epi64(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(pair)) +
         static_cast<std::uint64_t>(_mm_extract_epi64(pair, 1));
}

}  // namespace pensieve::core::read_loops
