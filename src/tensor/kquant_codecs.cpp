// Dequantization of the K-quant super-block formats (256 values per block).
//
// Q4_K and Q5_K split a block into 8 groups of 32 sharing a 6-bit scale and a 6-bit minimum, both
// multiplied by fp16 super-scales d and dmin: value = d * scale * q - dmin * min. The 16 six-bit
// numbers are packed into 12 bytes (see unpack_scale_min). Q6_K uses 16 groups of 16 with signed
// 8-bit scales and 6-bit values centred on 32.
#include "tensor/block_io.hpp"
#include "tensor/codecs.hpp"
#include "tensor/kquant_layout.hpp"

namespace pensieve::tensor::detail {

// Q4_K: { fp16 d; fp16 dmin; u8 scales[12]; u8 qs[128]; }
// Each 64 values take 32 bytes of qs: the first 32 values are their low nibbles, the next 32 the
// high nibbles, with groups 2i and 2i+1 as scale/min pair.
void dequantize_q4_k(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kQ4KBytes, dst += kSuperBlock) {
    const float d = load_fp16(src);
    const float dmin = load_fp16(src + 2);
    const std::uint8_t* scales = src + 4;
    const std::uint8_t* qs = src + 16;
    for (std::size_t pair = 0; pair < 4; ++pair) {
      const ScaleMin lo = unpack_scale_min(scales, 2 * pair);
      const ScaleMin hi = unpack_scale_min(scales, 2 * pair + 1);
      const float d_lo = d * lo.scale, m_lo = dmin * lo.min;
      const float d_hi = d * hi.scale, m_hi = dmin * hi.min;
      float* y = dst + 64 * pair;
      const std::uint8_t* q = qs + 32 * pair;
      for (std::size_t l = 0; l < 32; ++l) {
        y[l] = d_lo * static_cast<float>(q[l] & 0x0f) - m_lo;
        y[l + 32] = d_hi * static_cast<float>(q[l] >> 4) - m_hi;
      }
    }
  }
}

// Q5_K: { fp16 d; fp16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; }
// As Q4_K, plus a fifth bit per value: value l of group g has it at bit g of qh[l].
void dequantize_q5_k(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kQ5KBytes, dst += kSuperBlock) {
    const float d = load_fp16(src);
    const float dmin = load_fp16(src + 2);
    const std::uint8_t* scales = src + 4;
    const std::uint8_t* qh = src + 16;
    const std::uint8_t* qs = src + 48;
    for (std::size_t pair = 0; pair < 4; ++pair) {
      const ScaleMin lo = unpack_scale_min(scales, 2 * pair);
      const ScaleMin hi = unpack_scale_min(scales, 2 * pair + 1);
      const float d_lo = d * lo.scale, m_lo = dmin * lo.min;
      const float d_hi = d * hi.scale, m_hi = dmin * hi.min;
      const unsigned bit_lo = 2 * pair, bit_hi = 2 * pair + 1;
      float* y = dst + 64 * pair;
      const std::uint8_t* q = qs + 32 * pair;
      for (std::size_t l = 0; l < 32; ++l) {
        const int v_lo = (q[l] & 0x0f) | (((qh[l] >> bit_lo) & 1) << 4);
        const int v_hi = (q[l] >> 4) | (((qh[l] >> bit_hi) & 1) << 4);
        y[l] = d_lo * static_cast<float>(v_lo) - m_lo;
        y[l + 32] = d_hi * static_cast<float>(v_hi) - m_hi;
      }
    }
  }
}

// Q6_K: { u8 ql[128]; u8 qh[64]; i8 scales[16]; fp16 d; }
// Each half of 128 values uses 64 bytes of ql and 32 of qh. Value l + 32k of a half (k = 0..3)
// takes its low 4 bits from ql[l + 32 (k & 1)] (low nibble for k < 2, high for k >= 2) and its top
// 2 bits from bits 2k..2k+1 of qh[l]; its scale is scales[8 * half + 2k + l / 16].
void dequantize_q6_k(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kQ6KBytes, dst += kSuperBlock) {
    const std::uint8_t* ql = src;
    const std::uint8_t* qh = src + 128;
    const std::uint8_t* scale_bytes = src + 192;
    const float d = load_fp16(src + 208);
    for (std::size_t half = 0; half < 2; ++half) {
      float* y = dst + 128 * half;
      const std::uint8_t* l4 = ql + 64 * half;
      const std::uint8_t* h2 = qh + 32 * half;
      const std::uint8_t* sc = scale_bytes + 8 * half;
      for (std::size_t l = 0; l < 32; ++l) {
        for (unsigned k = 0; k < 4; ++k) {
          const std::uint8_t low_byte = l4[l + 32 * (k & 1)];
          const int low = k < 2 ? (low_byte & 0x0f) : (low_byte >> 4);
          const int high = (h2[l] >> (2 * k)) & 3;
          const int q = (low | (high << 4)) - 32;
          const auto scale = static_cast<std::int8_t>(sc[2 * k + l / 16]);
          y[l + 32 * k] = d * static_cast<float>(scale) * static_cast<float>(q);
        }
      }
    }
  }
}

// Q8_K: { f32 d; i8 qs[256]; i16 bsums[16]; } value = d * qs[j]; bsums caches the sum of each
// 16 values for dot products and plays no part in the values.
void dequantize_q8_k(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kQ8KBytes, dst += kSuperBlock) {
    const auto d = load<float>(src);
    for (std::size_t j = 0; j < kSuperBlock; ++j) {
      dst[j] = d * static_cast<float>(static_cast<std::int8_t>(src[4 + j]));
    }
  }
}

}  // namespace pensieve::tensor::detail
