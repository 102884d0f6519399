// kernels/avx2/exp_avx2: e^x for 8 floats, shared by the AVX2 files that need it (SwiGLU,
// attention's softmax). Only AVX2 translation units include it.
#pragma once

#include <immintrin.h>

namespace pensieve::kernels::avx2 {

// e^x = 2^k · e^r with k = round(x·log2 e) and |r| ≤ ln2/2; r = x − k·ln2 with ln2 split in two so r
// keeps its precision for large |x|; e^r by its Taylor series to degree 6 (relative error near
// 2e-7); 2^k built in the exponent bits. x must lie in [-88, 89]: callers clamp or mask, each with
// the limits its op needs. k = 128 gives infinity, as std::exp overflows; below the normal range
// the result flushes to zero.
inline __m256 exp_in_range(__m256 x) {
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127));
  const __m256i clamped = _mm256_min_epi32(_mm256_max_epi32(biased, _mm256_setzero_si256()), _mm256_set1_epi32(255));
  return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(clamped, 23)));
}

}  // namespace pensieve::kernels::avx2
