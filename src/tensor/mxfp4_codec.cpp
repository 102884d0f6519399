// MXFP4: { u8 e; u8 qs[16]; } value j = E2M1(nibble j) · 2^(e − 127); see mxfp4_layout.hpp.
#include <algorithm>
#include <array>
#include <cmath>

#include "tensor/codecs.hpp"
#include "tensor/mxfp4_layout.hpp"

namespace pensieve::tensor::detail {
namespace {

constexpr std::size_t kBlock = 32;

// The doubled code values as floats, code 8 as −0 so a decoded block keeps the sign of its zeros.
constexpr auto kDoubledFloat = [] {
  std::array<float, 16> v{};
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = kE2M1Doubled[i];
  v[8] = -0.0f;
  return v;
}();

// The magnitudes 0..7 of the doubled codes, in increasing order.
constexpr float kMagnitudes[8] = {0, 1, 2, 3, 4, 6, 8, 12};

// The code (0..7) of the magnitude nearest to t ≥ 0, in units of the half scale; past 12 it clips
// to 12. A tie goes to the even code (mantissa bit 0), the IEEE rule; NaN gets code 0.
int nearest_magnitude_code(float t) {
  if (!(t >= 0.0f)) return 0;
  int below = 0;
  for (float m : kMagnitudes) below += m < t ? 1 : 0;
  if (below == 0) return 0;
  if (below == 8) return 7;
  const float to_lower = t - kMagnitudes[below - 1], to_upper = kMagnitudes[below] - t;
  if (to_lower != to_upper) return to_lower < to_upper ? below - 1 : below;
  return (below - 1) % 2 == 0 ? below - 1 : below;
}

// The block's scale exponent E (the scale is 2^E, stored as e = E + 127): the smallest that keeps
// the largest finite magnitude within 6·2^E, the top of the E2M1 range, so nothing clips; a block
// of values exactly on some MXFP4 grid gets back the scale that represents all of them.
int scale_exponent(const float* x) {
  float amax = 0.0f;
  for (std::size_t j = 0; j < kBlock; ++j) {
    if (std::isfinite(x[j])) amax = std::fmax(amax, std::fabs(x[j]));
  }
  if (amax == 0.0f) return -127;
  int exponent = 0;
  const float mantissa = std::frexp(amax, &exponent);  // amax = mantissa · 2^exponent, mantissa in [0.5, 1)
  // amax / 2^(exponent − 3) = 8·mantissa lies in [4, 8): within 6 when mantissa ≤ 0.75.
  const int e = mantissa <= 0.75f ? exponent - 3 : exponent - 2;
  // Past 2^125 the top codes would decode beyond the float range (6·2^126 = 1.5·2^128): the few
  // values above 6·2^125 clip to it instead.
  return std::clamp(e, -127, 125);
}

}  // namespace

void dequantize_mxfp4(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kMxfp4Bytes, dst += kBlock) {
    const float half = e8m0_half_scale(src[0]);
    const std::uint8_t* qs = src + 1;
    for (std::size_t j = 0; j < 16; ++j) {
      dst[j] = kDoubledFloat[qs[j] & 0x0f] * half;
      dst[j + 16] = kDoubledFloat[qs[j] >> 4] * half;
    }
  }
}

// Each value rounds to the nearest representable one at the block's scale (see scale_exponent);
// its sign is kept, zeros included.
void quantize_mxfp4(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kBlock, dst += kMxfp4Bytes) {
    const int exponent = scale_exponent(src);
    dst[0] = static_cast<std::uint8_t>(exponent + 127);
    int codes[kBlock];
    for (std::size_t j = 0; j < kBlock; ++j) {
      // In units of the half scale 2^(E − 1): the doubled code values. ldexp is exact here.
      const float t = std::ldexp(std::fabs(src[j]), 1 - exponent);
      codes[j] = nearest_magnitude_code(t) | (std::signbit(src[j]) && !std::isnan(src[j]) ? 8 : 0);
    }
    for (std::size_t j = 0; j < 16; ++j)
      dst[1 + j] = static_cast<std::uint8_t>(codes[j] | (codes[j + 16] << 4));
  }
}

}  // namespace pensieve::tensor::detail
