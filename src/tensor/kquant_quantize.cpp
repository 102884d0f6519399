// Reference quantization into the K-quant super-block formats.
//
// The scheme is chosen so that no value ever clips and every error stays within half of its
// group's effective step: offsets are rounded up to cover each group's minimum, then scales are
// rounded up to cover what is left of its range. Both 6-bit (or 8-bit) group numbers and the fp16
// super-scales round upwards. Production quantizers search for scales with lower average error;
// this one trades a little accuracy for a guarantee tests can state.
#include <algorithm>
#include <cmath>

#include "tensor/block_io.hpp"
#include "tensor/codecs.hpp"
#include "tensor/kquant_layout.hpp"

namespace pensieve::tensor::detail {
namespace {

constexpr std::size_t kGroups = 8;      // Q4_K/Q5_K groups per super-block
constexpr std::size_t kGroupSize = 32;

struct ScaledWithMin {
  std::uint16_t d_bits = 0;
  std::uint16_t dmin_bits = 0;
  ScaleMin groups[kGroups] = {};
  std::uint8_t codes[kSuperBlock] = {};
};

// value = d * scale_g * code - dmin * min_g, codes in [0, max_code].
ScaledWithMin quantize_with_min(const float* x, int max_code) {
  ScaledWithMin out;
  float needed_min[kGroups], group_max[kGroups];
  float largest_min = 0;
  for (std::size_t g = 0; g < kGroups; ++g) {
    const float* v = x + kGroupSize * g;
    float lo = 0, hi = v[0];
    for (std::size_t j = 0; j < kGroupSize; ++j) {
      lo = std::min(lo, v[j]);
      hi = std::max(hi, v[j]);
    }
    needed_min[g] = -lo;
    group_max[g] = hi;
    largest_min = std::max(largest_min, needed_min[g]);
  }
  out.dmin_bits = fp16_at_least(largest_min / 63.0f);
  const float dmin = fp16_to_fp32(out.dmin_bits);
  float needed_scale[kGroups], offset[kGroups];
  float largest_scale = 0;
  for (std::size_t g = 0; g < kGroups; ++g) {
    out.groups[g].min = static_cast<std::uint8_t>(dmin > 0 ? ceil_clamped(needed_min[g] / dmin, 0, 63) : 0);
    offset[g] = dmin * static_cast<float>(out.groups[g].min);
    needed_scale[g] = std::max(0.0f, group_max[g] + offset[g]) / static_cast<float>(max_code);
    largest_scale = std::max(largest_scale, needed_scale[g]);
  }
  out.d_bits = fp16_at_least(largest_scale / 63.0f);
  const float d = fp16_to_fp32(out.d_bits);
  for (std::size_t g = 0; g < kGroups; ++g) {
    out.groups[g].scale = static_cast<std::uint8_t>(d > 0 ? ceil_clamped(needed_scale[g] / d, 0, 63) : 0);
    const float step = d * static_cast<float>(out.groups[g].scale);
    const float inverse = step > 0 ? 1.0f / step : 0.0f;
    for (std::size_t j = 0; j < kGroupSize; ++j) {
      const std::size_t i = kGroupSize * g + j;
      out.codes[i] = static_cast<std::uint8_t>(round_clamped((x[i] + offset[g]) * inverse, 0, max_code));
    }
  }
  return out;
}

// Header shared by Q4_K and Q5_K: d, dmin and the 12 packed scale/min bytes.
void store_header(const ScaledWithMin& q, std::uint8_t* dst) {
  store(dst, q.d_bits);
  store(dst + 2, q.dmin_bits);
  std::uint8_t* packed = dst + 4;
  std::fill(packed, packed + 12, std::uint8_t{0});
  for (std::size_t g = 0; g < kGroups; ++g) pack_scale_min(packed, g, q.groups[g]);
}

// Groups 2p and 2p+1 share 32 bytes: the first in the low nibbles, the second in the high ones.
void store_low_nibbles(const ScaledWithMin& q, std::uint8_t* qs) {
  for (std::size_t pair = 0; pair < 4; ++pair) {
    for (std::size_t l = 0; l < 32; ++l) {
      const std::uint8_t lo = q.codes[64 * pair + l] & 0x0f;
      const std::uint8_t hi = q.codes[64 * pair + 32 + l] & 0x0f;
      qs[32 * pair + l] = static_cast<std::uint8_t>(lo | (hi << 4));
    }
  }
}

}  // namespace

void quantize_q4_k(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kSuperBlock, dst += kQ4KBytes) {
    const ScaledWithMin q = quantize_with_min(src, 15);
    store_header(q, dst);
    store_low_nibbles(q, dst + 16);
  }
}

void quantize_q5_k(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kSuperBlock, dst += kQ5KBytes) {
    const ScaledWithMin q = quantize_with_min(src, 31);
    store_header(q, dst);
    std::uint8_t* qh = dst + 16;
    for (std::size_t l = 0; l < 32; ++l) {
      std::uint8_t bits = 0;
      for (std::size_t g = 0; g < kGroups; ++g) bits |= static_cast<std::uint8_t>(((q.codes[32 * g + l] >> 4) & 1) << g);
      qh[l] = bits;
    }
    store_low_nibbles(q, dst + 48);
  }
}

// 16 groups of 16 with signed 8-bit scales: each group's largest magnitude maps to +-31 (so the
// code -32 goes unused and nothing clips).
void quantize_q6_k(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kSuperBlock, dst += kQ6KBytes) {
    float needed_scale[16];
    float largest = 0;
    for (std::size_t g = 0; g < 16; ++g) {
      needed_scale[g] = std::fabs(signed_absmax(src + 16 * g, 16)) / 31.0f;
      largest = std::max(largest, needed_scale[g]);
    }
    const std::uint16_t d_bits = fp16_at_least(largest / 127.0f);
    const float d = fp16_to_fp32(d_bits);
    std::uint8_t codes[kSuperBlock];
    std::uint8_t* scales = dst + 192;
    for (std::size_t g = 0; g < 16; ++g) {
      const int scale = d > 0 ? ceil_clamped(needed_scale[g] / d, 0, 127) : 0;
      scales[g] = static_cast<std::uint8_t>(static_cast<std::int8_t>(scale));
      const float step = d * static_cast<float>(scale);
      const float inverse = step > 0 ? 1.0f / step : 0.0f;
      for (std::size_t j = 0; j < 16; ++j) {
        codes[16 * g + j] = static_cast<std::uint8_t>(round_clamped(src[16 * g + j] * inverse, -32, 31) + 32);
      }
    }
    std::uint8_t* ql = dst;
    std::uint8_t* qh = dst + 128;
    std::fill(dst, dst + 192, std::uint8_t{0});
    for (std::size_t half = 0; half < 2; ++half) {
      for (std::size_t l = 0; l < 32; ++l) {
        for (unsigned k = 0; k < 4; ++k) {
          const std::uint8_t c = codes[128 * half + 32 * k + l];
          std::uint8_t& low_byte = ql[64 * half + l + 32 * (k & 1)];
          low_byte = static_cast<std::uint8_t>(low_byte | (k < 2 ? (c & 0x0f) : (c & 0x0f) << 4));
          qh[32 * half + l] = static_cast<std::uint8_t>(qh[32 * half + l] | ((c >> 4) << (2 * k)));
        }
      }
    }
    store(dst + 208, d_bits);
  }
}

// Q8_K keeps a float32 scale and the sum of each 16 codes, which dot products with K-quant
// weights use to apply the weights' minimums.
void quantize_q8_k(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kSuperBlock, dst += kQ8KBytes) {
    const float d = std::fabs(signed_absmax(src, kSuperBlock)) / 127.0f;
    const float inverse = d > 0 ? 1.0f / d : 0.0f;
    store(dst, d);
    for (std::size_t g = 0; g < 16; ++g) {
      int sum = 0;
      for (std::size_t j = 0; j < 16; ++j) {
        const int q = round_clamped(src[16 * g + j] * inverse, -127, 127);
        dst[4 + 16 * g + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(q));
        sum += q;
      }
      store(dst + 4 + kSuperBlock + 2 * g, static_cast<std::int16_t>(sum));
    }
  }
}

}  // namespace pensieve::tensor::detail
