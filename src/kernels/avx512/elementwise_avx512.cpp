// kernels/avx512/elementwise_avx512: SwiGLU with the vectorised exponential, 16 lanes at a time.
#include <immintrin.h>

#include "kernels/avx512/exp_avx512.hpp"
#include "kernels/kernel_table.hpp"

namespace pensieve::kernels {
namespace {

// Clamped to the range exp_in_range takes: past 89 the result is infinity, as std::exp's is, so
// silu(g) is -0 for very negative g; below -88 it is (nearly) zero, so silu(g) = g.
__m512 exp_ps(__m512 x) {
  return avx512::exp_in_range(_mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(89.0f)), _mm512_set1_ps(-88.0f)));
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
