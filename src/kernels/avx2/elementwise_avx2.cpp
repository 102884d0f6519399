// kernels/avx2/elementwise_avx2: SwiGLU with the vectorised exponential, 8 lanes at a time.
#include <immintrin.h>

#include "kernels/avx2/exp_avx2.hpp"
#include "kernels/kernel_table.hpp"

namespace pensieve::kernels {
namespace {

// Clamped to the range exp_in_range takes: past 89 the result is infinity, as std::exp's is, so
// silu(g) is -0 for very negative g; below -88 it is (nearly) zero, so silu(g) = g.
__m256 exp_ps(__m256 x) {
  return avx2::exp_in_range(_mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(89.0f)), _mm256_set1_ps(-88.0f)));
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
