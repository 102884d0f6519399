// kernels/avx512/quantize: float rows to the 8-bit activation blocks, bit for bit the scalar
// variant's codes: the same max|x| (a maximum does not depend on order), d = amax / 127, codes
// x · (127 / amax) rounded to nearest even (the conversion uses the current rounding mode, as
// nearbyint does), code 0 where |x · (127 / amax)| is not at most 127.5 (NaN, infinite, or a
// scale that overflowed), and sums of the stored codes taken exactly in integers before the one
// float multiply.
#include "kernels/activations.hpp"
#include "kernels/avx512/common.hpp"
#include "kernels/avx512/entries.hpp"

namespace pensieve::kernels::avx512 {
namespace {

// max(|v|, acc); a NaN lane of v leaves acc, as std::fmax ignores NaN. (No vector constants at
// namespace scope: their initialisers would run AVX-512 code at start-up on any CPU.)
inline __m512 max_abs(__m512 v, __m512 acc) {
  return _mm512_max_ps(_mm512_abs_ps(v), acc);
}

// The scale and the multiplier of scalar quantize_codes for a block whose max|x| is amax.
inline float scale_of(float amax, float& inverse) {
  const float d = amax / 127.0f;
  inverse = d != 0.0f ? 127.0f / amax : 0.0f;
  return d;
}

inline __m512i codes_of(__m512 x, __m512 inverse) {
  const __m512 v = _mm512_mul_ps(x, inverse);
  const __mmask16 in_range = _mm512_cmp_ps_mask(_mm512_abs_ps(v), _mm512_set1_ps(127.5f), _CMP_LE_OQ);
  return _mm512_maskz_mov_epi32(in_range, _mm512_cvtps_epi32(v));
}

}  // namespace

void quantize_row_q8x32(const float* x, std::size_t cols, std::uint8_t* out) {
  for (std::size_t b = 0; b < cols / 32; ++b, x += 32) {
    const float amax = _mm512_reduce_max_ps(
        max_abs(_mm512_loadu_ps(x + 16), max_abs(_mm512_loadu_ps(x), _mm512_setzero_ps())));
    ActBlock32 block;
    float inverse;
    block.d = scale_of(amax, inverse);
    const __m512 inv = _mm512_set1_ps(inverse);
    const __m512i lo = codes_of(_mm512_loadu_ps(x), inv), hi = codes_of(_mm512_loadu_ps(x + 16), inv);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(block.q), _mm512_cvtepi32_epi8(lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(block.q + 16), _mm512_cvtepi32_epi8(hi));
    block.d_sum = block.d * static_cast<float>(_mm512_reduce_add_epi32(_mm512_add_epi32(lo, hi)));
    std::memcpy(out + b * sizeof(ActBlock32), &block, sizeof(block));
  }
}

void quantize_row_q8x256(const float* x, std::size_t cols, std::uint8_t* out) {
  for (std::size_t b = 0; b < cols / 256; ++b, x += 256) {
    ActBlock256 block;
    for (std::size_t j = 0; j < 8; ++j) {
      const float* run = x + 32 * j;
      const __m512 lo_x = _mm512_loadu_ps(run), hi_x = _mm512_loadu_ps(run + 16);
      float inverse;
      block.d[j] = scale_of(_mm512_reduce_max_ps(max_abs(hi_x, max_abs(lo_x, _mm512_setzero_ps()))), inverse);
      const __m512 inv = _mm512_set1_ps(inverse);
      // Each 16 values are one sum group: the codes' lanes hold exactly the values to add.
      const __m512i lo = codes_of(lo_x, inv), hi = codes_of(hi_x, inv);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(block.q + 32 * j), _mm512_cvtepi32_epi8(lo));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(block.q + 32 * j + 16), _mm512_cvtepi32_epi8(hi));
      block.sums[2 * j] = static_cast<std::int16_t>(_mm512_reduce_add_epi32(lo));
      block.sums[2 * j + 1] = static_cast<std::int16_t>(_mm512_reduce_add_epi32(hi));
    }
    std::memcpy(out + b * sizeof(ActBlock256), &block, sizeof(block));
  }
}

}  // namespace pensieve::kernels::avx512
