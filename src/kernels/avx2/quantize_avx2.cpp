// kernels/avx2/quantize_avx2: float rows to 8-bit activation blocks, bit for bit as the scalar
// quantizer: the same max (max is exact in any order), d = amax / 127, codes x · (127 / amax)
// rounded to nearest-even (the MXCSR default that _mm256_cvtps_epi32 uses), sums as integers.
#include <cfloat>

#include "kernels/avx2/avx2_common.hpp"

namespace pensieve::kernels::avx2 {
namespace {

// max |x| over n values (a multiple of 32). max_ps returns its second operand when either is NaN,
// so a NaN input is skipped, as std::fmax skips it in the scalar quantizer.
float abs_max(const float* x, std::size_t n) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 m = _mm256_setzero_ps();
  for (std::size_t i = 0; i < n; i += 8)
    m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask), m);
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 32 codes round(x · inverse) as bytes in order; `c` receives them as four vectors of int32. A NaN
// product (a NaN or infinite input) becomes code 0, as the scalar quantizer's conversion gives on
// x86, not the 0x80000000 that cvtps_epi32 makes of it.
__m256i codes_32(const float* x, __m256 inverse, __m256i c[4]) {
  for (int i = 0; i < 4; ++i) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), inverse);
    c[i] = _mm256_cvtps_epi32(_mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)));
  }
  // The packs work per 128-bit lane, leaving groups of four codes in the dword order
  // c0[0..3] c1[0..3] c2[0..3] c3[0..3] c0[4..7] c1[4..7] c2[4..7] c3[4..7].
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(c[0], c[1]), _mm256_packs_epi32(c[2], c[3]));
  return _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

int hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

// d and the multiplier as the scalar quantizer computes them. Below amax ≈ 3.7e-37 the multiplier
// overflows to infinity and every product is infinite or NaN, which the scalar conversion turns
// into code 0 on x86; a zero multiplier gives those codes here without infinities.
float scale_of(float amax, float& inverse) {
  const float d = amax / 127.0f;
  inverse = d != 0.0f ? 127.0f / amax : 0.0f;
  if (inverse > FLT_MAX) inverse = 0.0f;  // a comparison, not std::isinf: no inline std function here
  return d;
}

}  // namespace

void quantize_row_q8x32(const float* x, std::size_t cols, std::uint8_t* out) {
  for (std::size_t b = 0; b < cols / 32; ++b, x += 32) {
    ActBlock32 block;
    float inverse = 0.0f;
    block.d = scale_of(abs_max(x, 32), inverse);
    __m256i c[4];
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(block.q), codes_32(x, _mm256_set1_ps(inverse), c));
    const __m256i sum = _mm256_add_epi32(_mm256_add_epi32(c[0], c[1]), _mm256_add_epi32(c[2], c[3]));
    block.d_sum = block.d * static_cast<float>(hsum_epi32(sum));
    std::memcpy(out + b * sizeof(ActBlock32), &block, sizeof(block));
  }
}

void quantize_row_q8x256(const float* x, std::size_t cols, std::uint8_t* out) {
  for (std::size_t b = 0; b < cols / 256; ++b, x += 256) {
    ActBlock256 block;
    for (std::size_t i = 0; i < 8; ++i) {
      float inverse = 0.0f;
      block.d[i] = scale_of(abs_max(x + 32 * i, 32), inverse);
      __m256i c[4];
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(block.q + 32 * i),
                          codes_32(x + 32 * i, _mm256_set1_ps(inverse), c));
      // Codes 0..15 of these 32 are the first two vectors of eight, 16..31 the last two.
      block.sums[2 * i] = static_cast<std::int16_t>(hsum_epi32(_mm256_add_epi32(c[0], c[1])));
      block.sums[2 * i + 1] = static_cast<std::int16_t>(hsum_epi32(_mm256_add_epi32(c[2], c[3])));
    }
    std::memcpy(out + b * sizeof(ActBlock256), &block, sizeof(block));
  }
}

}  // namespace pensieve::kernels::avx2
