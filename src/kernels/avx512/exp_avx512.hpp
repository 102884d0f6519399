// kernels/avx512/exp_avx512: e^x for 16 floats, shared by the AVX-512 files that need it (SwiGLU,
// attention's softmax). Only AVX-512 translation units include it.
#pragma once

#include <immintrin.h>

namespace pensieve::kernels::avx512 {

// e^x = 2^k · e^r with k = round(x·log2 e) and |r| ≤ ln2/2; r = x − k·ln2 with ln2 split in two so r
// keeps its precision for large |x|; e^r by its Taylor series to degree 6 (relative error near
// 2e-7). x must lie in [-88, 89]: callers clamp or mask, each with the limits its op needs (89
// gives 2^128 = infinity, as std::exp overflows).
inline __m512 exp_in_range(__m512 x) {
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, k);
}

}  // namespace pensieve::kernels::avx512
