// tensor/block_io: unaligned little-endian loads and stores for the fields of quantized blocks.
//
// Blocks sit at arbitrary byte offsets in a mapped file (a Q8_0 block is 34 bytes), so multi-byte
// fields are always copied with memcpy rather than read through a cast pointer.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tensor/half.hpp"

namespace pensieve::tensor::detail {

static_assert(std::endian::native == std::endian::little, "GGUF block fields are little-endian");

template <typename T>
inline T load(const std::uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

template <typename T>
inline void store(std::uint8_t* p, T value) {
  std::memcpy(p, &value, sizeof(T));
}

inline float load_fp16(const std::uint8_t* p) { return fp16_to_fp32(load<std::uint16_t>(p)); }
inline void store_fp16(std::uint8_t* p, float value) { store(p, fp32_to_fp16(value)); }

// The IQ4_NL / IQ4_XS code book: a non-uniform 4-bit grid that spends more levels near zero,
// where most weights are.
inline constexpr std::int8_t kIq4NlGrid[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                               1,    13,   25,  38,  53,  69,  89,  113};

// Round to the nearest integer and clamp to [lo, hi]; NaN lands on lo instead of being undefined.
inline int round_clamped(float v, int lo, int hi) {
  const float r = std::nearbyint(v);
  if (!(r >= static_cast<float>(lo))) return lo;
  if (!(r <= static_cast<float>(hi))) return hi;
  return static_cast<int>(r);
}

// Round up to an integer and clamp to [lo, hi]; NaN lands on lo.
inline int ceil_clamped(float v, int lo, int hi) {
  const float r = std::ceil(v);
  if (!(r >= static_cast<float>(lo))) return lo;
  if (!(r <= static_cast<float>(hi))) return hi;
  return static_cast<int>(r);
}

// The value of largest magnitude, with its sign.
inline float signed_absmax(const float* x, std::size_t n) {
  float best = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > std::fabs(best)) best = x[i];
  }
  return best;
}

// The fp16 nearest to v on the chosen side (>= v or <= v), so a scale or offset rounded to fp16
// still covers the range it was computed for. Finite v within the fp16 range.
inline std::uint16_t fp16_at_least(float v) {
  std::uint16_t bits = fp32_to_fp16(v);
  if (fp16_to_fp32(bits) < v) {
    if (bits == 0x8000) bits = 0x0001;
    else if ((bits & 0x8000) != 0) --bits;  // a negative value moves toward zero
    else if (bits < 0x7bff) ++bits;
  }
  return bits;
}

inline std::uint16_t fp16_at_most(float v) {
  std::uint16_t bits = fp32_to_fp16(v);
  if (fp16_to_fp32(bits) > v) {
    if (bits == 0x0000) bits = 0x8001;
    else if ((bits & 0x8000) == 0) --bits;  // a positive value moves toward zero
    else if (bits < 0xfbff) ++bits;
  }
  return bits;
}

}  // namespace pensieve::tensor::detail
