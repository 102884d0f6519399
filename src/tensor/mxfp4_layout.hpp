// tensor/mxfp4_layout: the facts of the MXFP4 block (the OCP microscaling FP4 format as GGUF
// stores it), shared by the codec and the kernels' scalar reference.
//
// A block is 17 bytes for 32 values: one E8M0 byte e (a power-of-two scale 2^(e − 127), no sign,
// no mantissa), then 16 bytes of E2M1 codes (1 sign, 2 exponent, 1 mantissa bit: ±{0, 0.5, 1,
// 1.5, 2, 3, 4, 6}). Value j sits in byte j % 16, the low nibble for j < 16 and the high nibble
// for j ≥ 16, as in the other 32-value types. Each code is kept here as twice its value, an
// integer in [-12, 12], with the scale halved to match, so that integer kernels multiply the
// codes directly; the decoded float is the same.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace pensieve::tensor::detail {

inline constexpr std::size_t kMxfp4Bytes = 1 + 16;

// Twice the E2M1 value of each 4-bit code: bit 3 is the sign, so codes 8..15 mirror 0..7 (code 8
// is −0, which these integers cannot tell from +0; the float decoder keeps the sign).
inline constexpr std::int8_t kE2M1Doubled[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// Half the block scale, 2^(e − 128), as a float built from its bits (exact for every e). e = 0
// and 1 give the subnormals 2^-128 and 2^-127; e = 255, which the OCP format reserves for NaN,
// decodes as 2^127 like every other exponent, as established GGUF readers do.
inline float e8m0_half_scale(std::uint8_t e) {
  const std::uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<std::uint32_t>(e - 1) << 23;
  return std::bit_cast<float>(bits);
}

}  // namespace pensieve::tensor::detail
