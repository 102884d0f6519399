// The 32-value block formats. Each block starts with an fp16 scale d (and, for the _1 types, an
// fp16 offset m); value j of the block comes from byte j % 16 of qs, low nibble for j < 16 and high
// nibble for j >= 16. The _5 types keep each value's fifth bit in a 32-bit mask qh.
#include <algorithm>
#include <array>
#include <cmath>

#include "tensor/block_io.hpp"
#include "tensor/codecs.hpp"

namespace pensieve::tensor::detail {
namespace {

constexpr std::size_t kBlock = 32;

// The symmetric types: d = (value of largest magnitude) / -zero_point, so that value lands exactly
// on code 0 and the rest on round(x / d) + zero_point, clipped to [0, max_code].
void quantize_symmetric_codes(const float* x, int zero_point, int max_code, std::uint16_t& d_bits, int* codes) {
  d_bits = fp32_to_fp16(signed_absmax(x, kBlock) / static_cast<float>(-zero_point));
  const float d = fp16_to_fp32(d_bits);
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  for (std::size_t j = 0; j < kBlock; ++j) codes[j] = round_clamped(x[j] * inverse, -zero_point, max_code - zero_point) + zero_point;
}

// The offset types: value = d * code + m with m the block minimum (rounded down) and d covering
// the rest of the range (rounded up), so no value clips.
void quantize_offset_codes(const float* x, int max_code, std::uint16_t& d_bits, std::uint16_t& m_bits, int* codes) {
  float lo = x[0], hi = x[0];
  for (std::size_t j = 1; j < kBlock; ++j) {
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
  m_bits = fp16_at_most(lo);
  const float m = fp16_to_fp32(m_bits);
  d_bits = fp16_at_least((hi - m) / static_cast<float>(max_code));
  const float d = fp16_to_fp32(d_bits);
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  for (std::size_t j = 0; j < kBlock; ++j) codes[j] = round_clamped((x[j] - m) * inverse, 0, max_code);
}

void pack_nibbles(const int* codes, std::uint8_t* qs) {
  for (std::size_t j = 0; j < 16; ++j) qs[j] = static_cast<std::uint8_t>((codes[j] & 0x0f) | ((codes[j + 16] & 0x0f) << 4));
}

std::uint32_t fifth_bits(const int* codes) {
  std::uint32_t qh = 0;
  for (std::size_t j = 0; j < kBlock; ++j) qh |= static_cast<std::uint32_t>((codes[j] >> 4) & 1) << j;
  return qh;
}

}  // namespace

// Q4_0: { fp16 d; u8 qs[16]; } value = d * (nibble - 8)
void dequantize_q4_0(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += 18, dst += kBlock) {
    const float d = load_fp16(src);
    const std::uint8_t* qs = src + 2;
    for (std::size_t j = 0; j < 16; ++j) {
      dst[j] = d * static_cast<float>((qs[j] & 0x0f) - 8);
      dst[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
    }
  }
}

// The extreme value maps exactly to -8 (d takes its sign), so only the opposite end can clip, to +7.
void quantize_q4_0(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  int codes[kBlock];
  for (std::size_t b = 0; b < n_blocks; ++b, src += kBlock, dst += 18) {
    std::uint16_t d_bits = 0;
    quantize_symmetric_codes(src, 8, 15, d_bits, codes);
    store(dst, d_bits);
    pack_nibbles(codes, dst + 2);
  }
}

void quantize_q4_1(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  int codes[kBlock];
  for (std::size_t b = 0; b < n_blocks; ++b, src += kBlock, dst += 20) {
    std::uint16_t d_bits = 0, m_bits = 0;
    quantize_offset_codes(src, 15, d_bits, m_bits, codes);
    store(dst, d_bits);
    store(dst + 2, m_bits);
    pack_nibbles(codes, dst + 4);
  }
}

void quantize_q5_0(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  int codes[kBlock];
  for (std::size_t b = 0; b < n_blocks; ++b, src += kBlock, dst += 22) {
    std::uint16_t d_bits = 0;
    quantize_symmetric_codes(src, 16, 31, d_bits, codes);
    store(dst, d_bits);
    store(dst + 2, fifth_bits(codes));
    pack_nibbles(codes, dst + 6);
  }
}

void quantize_q5_1(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  int codes[kBlock];
  for (std::size_t b = 0; b < n_blocks; ++b, src += kBlock, dst += 24) {
    std::uint16_t d_bits = 0, m_bits = 0;
    quantize_offset_codes(src, 31, d_bits, m_bits, codes);
    store(dst, d_bits);
    store(dst + 2, m_bits);
    store(dst + 4, fifth_bits(codes));
    pack_nibbles(codes, dst + 8);
  }
}

// Q4_1: { fp16 d; fp16 m; u8 qs[16]; } value = d * nibble + m
void dequantize_q4_1(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += 20, dst += kBlock) {
    const float d = load_fp16(src);
    const float m = load_fp16(src + 2);
    const std::uint8_t* qs = src + 4;
    for (std::size_t j = 0; j < 16; ++j) {
      dst[j] = d * static_cast<float>(qs[j] & 0x0f) + m;
      dst[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
    }
  }
}

// Q5_0: { fp16 d; u8 qh[4]; u8 qs[16]; } value = d * (nibble | bit j of qh << 4) - 16)
void dequantize_q5_0(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += 22, dst += kBlock) {
    const float d = load_fp16(src);
    const auto qh = load<std::uint32_t>(src + 2);
    const std::uint8_t* qs = src + 6;
    for (std::size_t j = 0; j < 16; ++j) {
      const auto lo = static_cast<int>((qs[j] & 0x0f) | (((qh >> j) & 1u) << 4));
      const auto hi = static_cast<int>((qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4));
      dst[j] = d * static_cast<float>(lo - 16);
      dst[j + 16] = d * static_cast<float>(hi - 16);
    }
  }
}

// Q5_1: { fp16 d; fp16 m; u8 qh[4]; u8 qs[16]; } value = d * (nibble | bit j of qh << 4) + m
void dequantize_q5_1(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += 24, dst += kBlock) {
    const float d = load_fp16(src);
    const float m = load_fp16(src + 2);
    const auto qh = load<std::uint32_t>(src + 4);
    const std::uint8_t* qs = src + 8;
    for (std::size_t j = 0; j < 16; ++j) {
      const auto lo = (qs[j] & 0x0fu) | (((qh >> j) & 1u) << 4);
      const auto hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4);
      dst[j] = d * static_cast<float>(lo) + m;
      dst[j + 16] = d * static_cast<float>(hi) + m;
    }
  }
}

// IQ4_NL: { fp16 d; u8 qs[16]; } value = d * kIq4NlGrid[nibble] (see block_io.hpp).

void dequantize_iq4_nl(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += 18, dst += kBlock) {
    const float d = load_fp16(src);
    const std::uint8_t* qs = src + 2;
    for (std::size_t j = 0; j < 16; ++j) {
      dst[j] = d * static_cast<float>(kIq4NlGrid[qs[j] & 0x0f]);
      dst[j + 16] = d * static_cast<float>(kIq4NlGrid[qs[j] >> 4]);
    }
  }
}

namespace {

constexpr auto kIq4NlGridFloat = [] {
  std::array<float, 16> grid{};
  for (std::size_t i = 0; i < grid.size(); ++i) grid[i] = kIq4NlGrid[i];
  return grid;
}();

// The grid is sorted, so the nearest entry is one of the two around t, found by counting the
// entries below t: sixteen independent compares instead of a scan whose every step waits on the
// last (which made IQ4_NL ten times slower than the other quantizers). On a tie the lower entry
// wins, and a non-finite t gets code 0, as with a scan from the bottom.
int nearest_iq4_nl_code(float t) {
  if (!std::isfinite(t)) return 0;
  int below = 0;
  for (float g : kIq4NlGridFloat) below += g < t ? 1 : 0;
  const int k = std::clamp(below, 1, 15);  // t lies between entries k - 1 and k, or beyond an end
  return std::fabs(t - kIq4NlGridFloat[k - 1]) <= std::fabs(t - kIq4NlGridFloat[k]) ? k - 1 : k;
}

}  // namespace

// The value of largest magnitude lands on the grid's -127 end (d takes its sign); every other value
// takes the nearest grid entry.
void quantize_iq4_nl(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  int codes[kBlock];
  for (std::size_t b = 0; b < n_blocks; ++b, src += kBlock, dst += 18) {
    const std::uint16_t d_bits = fp32_to_fp16(signed_absmax(src, kBlock) / -127.0f);
    const float d = fp16_to_fp32(d_bits);
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    for (std::size_t j = 0; j < kBlock; ++j) {
      codes[j] = nearest_iq4_nl_code(src[j] * inverse);
    }
    store(dst, d_bits);
    pack_nibbles(codes, dst + 2);
  }
}

// Q8_1: { fp16 d; fp16 s; i8 qs[32]; } value = d * qs[j]; s caches d * sum(qs) for dot products.
void dequantize_q8_1(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += 36, dst += kBlock) {
    const float d = load_fp16(src);
    for (std::size_t j = 0; j < kBlock; ++j) dst[j] = d * static_cast<float>(static_cast<std::int8_t>(src[4 + j]));
  }
}

// Q8_0: { fp16 d; i8 qs[32]; } value = d * qs[j]
void dequantize_q8_0(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += 34, dst += kBlock) {
    const float d = load_fp16(src);
    for (std::size_t j = 0; j < kBlock; ++j) dst[j] = d * static_cast<float>(static_cast<std::int8_t>(src[2 + j]));
  }
}

void quantize_q8_0(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kBlock, dst += 34) {
    const std::uint16_t d_bits = fp32_to_fp16(std::fabs(signed_absmax(src, kBlock)) / 127.0f);
    const float d = fp16_to_fp32(d_bits);
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    store(dst, d_bits);
    for (std::size_t j = 0; j < kBlock; ++j) {
      dst[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(round_clamped(src[j] * inverse, -127, 127)));
    }
  }
}

}  // namespace pensieve::tensor::detail
