// kernels/avx512/elementwise_avx512: SwiGLU with a vectorised exponential, 16 lanes at a time.
// exp(x) = 2^k · e^r with k = round(x·log2 e) and |r| ≤ ln2/2, e^r by a degree-6 polynomial
// (relative error near 2e-7, below float rounding of the product that follows).
#include <immintrin.h>


#include "kernels/kernel_table.hpp"

namespace pensieve::kernels {
namespace {

__m512 exp_ps(__m512 x) {
  // Clamped so k stays in range: past 89 the result is infinity (2^128), as std::exp's is, so
  // silu(g) is -0 for very negative g; below -88 it is (nearly) zero, so silu(g) = g.
  x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(89.0f)), _mm512_set1_ps(-88.0f));
  // k = round(x·log2 e); r = x - k·ln 2 in two steps (ln 2 split into a short high part and the
  // rest) so r keeps full precision even for |x| near 88.
  const __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
  const __m512 k = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
  // e^r for |r| ≤ ln2/2 by its Taylor series to degree 6 (truncation below 2e-7 relative).
  __m512 p = _mm512_set1_ps(1.0f / 720.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, k);
}

void swiglu_avx512(const float* gate, const float* up, std::size_t n, float* out) {
  std::size_t i = 0;
  const __m512 one = _mm512_set1_ps(1.0f);
  for (; i + 16 <= n; i += 16) {
    const __m512 g = _mm512_loadu_ps(gate + i);
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g));
    const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, e));
    _mm512_storeu_ps(out + i, _mm512_mul_ps(silu, _mm512_loadu_ps(up + i)));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g));
    const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, e));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, up + i)));
  }
}

}  // namespace

void add_avx512_elementwise(KernelTable& table) { table.swiglu = swiglu_avx512; }

}  // namespace pensieve::kernels
