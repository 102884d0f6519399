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

// Q2_K: { u8 scales[16]; u8 qs[64]; fp16 d; fp16 dmin; }
// 16 groups of 16, each with a 4-bit scale (low nibble) and 4-bit minimum (high nibble):
// value = d * scale * q - dmin * min, q 2 bits. Value 128h + 32k + l (h = 0..1, k = 0..3,
// l = 0..31) is bits 2k..2k+1 of qs[32h + l], in group 8h + 2k + l / 16.
void dequantize_q2_k(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kQ2KBytes, dst += kSuperBlock) {
    const std::uint8_t* scales = src;
    const std::uint8_t* qs = src + 16;
    const float d = load_fp16(src + 80);
    const float dmin = load_fp16(src + 82);
    for (std::size_t h = 0; h < 2; ++h) {
      for (unsigned k = 0; k < 4; ++k) {
        for (std::size_t l = 0; l < 32; ++l) {
          const std::uint8_t sc = scales[8 * h + 2 * k + l / 16];
          const int q = (qs[32 * h + l] >> (2 * k)) & 3;
          dst[128 * h + 32 * k + l] =
              d * static_cast<float>(sc & 0x0f) * static_cast<float>(q) - dmin * static_cast<float>(sc >> 4);
        }
      }
    }
  }
}

// Q3_K: { u8 hmask[32]; u8 qs[64]; u8 scales[12]; fp16 d; }
// 16 groups of 16 with signed 6-bit scales (stored + 32): value = d * (scale - 32) * q, q in
// [-4, 3]: 2 low bits as in Q2_K, minus 4 unless the value's bit in hmask is set (value
// 128h + 32k + l has it at bit 4h + k of hmask[l]). Scale i keeps its low 4 bits in the nibbles
// of bytes 0..7 (byte i for i < 8, high nibble of byte i - 8 otherwise) and its top 2 bits in
// bits 2(i / 4).. of byte 8 + i % 4.
void dequantize_q3_k(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kQ3KBytes, dst += kSuperBlock) {
    const std::uint8_t* hmask = src;
    const std::uint8_t* qs = src + 32;
    const std::uint8_t* packed = src + 96;
    const float d = load_fp16(src + 108);
    int scales[16];
    for (std::size_t i = 0; i < 16; ++i) {
      const int low = i < 8 ? (packed[i] & 0x0f) : (packed[i - 8] >> 4);
      const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
      scales[i] = (low | (high << 4)) - 32;
    }
    for (std::size_t h = 0; h < 2; ++h) {
      for (unsigned k = 0; k < 4; ++k) {
        for (std::size_t l = 0; l < 32; ++l) {
          const int low = (qs[32 * h + l] >> (2 * k)) & 3;
          const bool high_set = ((hmask[l] >> (4 * h + k)) & 1) != 0;
          const int q = low - (high_set ? 0 : 4);
          dst[128 * h + 32 * k + l] =
              d * static_cast<float>(scales[8 * h + 2 * k + l / 16]) * static_cast<float>(q);
        }
      }
    }
  }
}

// IQ4_XS: { fp16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]; }
// 8 groups of 32 with 6-bit scales (stored + 32) over the IQ4_NL grid: group g's low scale bits are
// nibble g % 2 of scales_l[g / 2], its top two bits are bits 2g..2g+1 of scales_h; its values are
// the low then high nibbles of qs[16g .. 16g + 15], as in IQ4_NL.
void dequantize_iq4_xs(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t b = 0; b < n_blocks; ++b, src += kIQ4XSBytes, dst += kSuperBlock) {
    const float d = load_fp16(src);
    const auto scales_h = load<std::uint16_t>(src + 2);
    const std::uint8_t* scales_l = src + 4;
    const std::uint8_t* qs = src + 8;
    for (std::size_t g = 0; g < 8; ++g) {
      const int low = (scales_l[g / 2] >> (4 * (g % 2))) & 0x0f;
      const int high = (scales_h >> (2 * g)) & 3;
      const float dl = d * static_cast<float>((low | (high << 4)) - 32);
      const std::uint8_t* q = qs + 16 * g;
      float* y = dst + 32 * g;
      for (std::size_t j = 0; j < 16; ++j) {
        y[j] = dl * static_cast<float>(kIq4NlGrid[q[j] & 0x0f]);
        y[j + 16] = dl * static_cast<float>(kIq4NlGrid[q[j] >> 4]);
      }
    }
  }
}

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
