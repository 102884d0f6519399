// kernels/avx2/elementwise_avx2: SwiGLU with a vectorised exponential, 8 lanes at a time.
// exp(x) = 2^k · e^r with k = round(x·log2 e) and |r| ≤ ln2/2, e^r by a degree-6 polynomial
// (relative error near 2e-7); 2^k is built in the exponent bits.
#include <immintrin.h>

#include "kernels/kernel_table.hpp"

namespace pensieve::kernels {
namespace {

__m256 exp_ps(__m256 x) {
  // Clamped so k stays in range: past 89 the result is infinity (2^128), as std::exp's is, so
  // silu(g) is -0 for very negative g; below -88 it is (nearly) zero, so silu(g) = g.
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(89.0f)), _mm256_set1_ps(-88.0f));
  // k = round(x·log2 e); r = x - k·ln 2 in two steps (ln 2 split into a short high part and the
  // rest) so r keeps full precision even for |x| near 88.
  const __m256 t = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
  const __m256 k = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  // e^r for |r| ≤ ln2/2 by its Taylor series to degree 6 (truncation below 2e-7 relative).
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // 2^k in the exponent bits: k = 128 (x past ln FLT_MAX) gives infinity, as exp does; below the
  // normal range it flushes to zero.
  const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127));
  const __m256i clamped = _mm256_min_epi32(_mm256_max_epi32(biased, _mm256_setzero_si256()), _mm256_set1_epi32(255));
  const __m256 two_k = _mm256_castsi256_ps(_mm256_slli_epi32(clamped, 23));
  return _mm256_mul_ps(p, two_k);
}

void swiglu_avx2(const float* gate, const float* up, std::size_t n, float* out) {
  std::size_t i = 0;
  const __m256 one = _mm256_set1_ps(1.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) {
    // The tail in the same arithmetic, one lane at a time, so a row's result never depends on
    // where it starts.
    float g[8] = {gate[i]}, u[8] = {up[i]}, o[8];
    const __m256 gv = _mm256_loadu_ps(g);
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), gv));
    _mm256_storeu_ps(o, _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_loadu_ps(u)));
    out[i] = o[0];
  }
}

}  // namespace

void add_avx2_elementwise(KernelTable& table) { table.swiglu = swiglu_avx2; }

}  // namespace pensieve::kernels
