#include "kernels/scalar/int_blocks.hpp"

#include "tensor/block_io.hpp"
#include "tensor/kquant_layout.hpp"
#include "tensor/mxfp4_layout.hpp"

namespace pensieve::kernels::scalar {
namespace {

using tensor::detail::e8m0_half_scale;
using tensor::detail::kE2M1Doubled;
using tensor::detail::kIq4NlGrid;
using tensor::detail::kMxfp4Bytes;
using tensor::detail::load;
using tensor::detail::load_fp16;
using tensor::detail::unpack_scale_min;

void one_group(IntBlock& out, float scale, float min) {
  out.scale[0] = scale;
  out.min[0] = min;
}

// Value j of a 32-value block sits in byte j % 16 of qs: the low nibble for j < 16, else the high.
int nibble(const std::uint8_t* qs, std::size_t j) { return j < 16 ? (qs[j] & 0x0f) : (qs[j - 16] >> 4); }

void unpack_q4_0(const std::uint8_t* b, IntBlock& out) {
  one_group(out, load_fp16(b), 0.0f);
  for (std::size_t j = 0; j < 32; ++j) out.q[j] = static_cast<std::int8_t>(nibble(b + 2, j) - 8);
}

void unpack_q4_1(const std::uint8_t* b, IntBlock& out) {
  one_group(out, load_fp16(b), load_fp16(b + 2));
  for (std::size_t j = 0; j < 32; ++j) out.q[j] = static_cast<std::int8_t>(nibble(b + 4, j));
}

void unpack_q5_0(const std::uint8_t* b, IntBlock& out) {
  one_group(out, load_fp16(b), 0.0f);
  const auto qh = load<std::uint32_t>(b + 2);
  for (std::size_t j = 0; j < 32; ++j) {
    out.q[j] = static_cast<std::int8_t>((nibble(b + 6, j) | static_cast<int>(((qh >> j) & 1u) << 4)) - 16);
  }
}

void unpack_q5_1(const std::uint8_t* b, IntBlock& out) {
  one_group(out, load_fp16(b), load_fp16(b + 2));
  const auto qh = load<std::uint32_t>(b + 4);
  for (std::size_t j = 0; j < 32; ++j) {
    out.q[j] = static_cast<std::int8_t>(nibble(b + 8, j) | static_cast<int>(((qh >> j) & 1u) << 4));
  }
}

void unpack_q8_0(const std::uint8_t* b, IntBlock& out) {
  one_group(out, load_fp16(b), 0.0f);
  for (std::size_t j = 0; j < 32; ++j) out.q[j] = static_cast<std::int8_t>(b[2 + j]);
}

void unpack_iq4_nl(const std::uint8_t* b, IntBlock& out) {
  one_group(out, load_fp16(b), 0.0f);
  for (std::size_t j = 0; j < 32; ++j) out.q[j] = kIq4NlGrid[nibble(b + 2, j)];
}

// MXFP4: twice the E2M1 values as the codes, half the power-of-two scale (mxfp4_layout.hpp).
void unpack_mxfp4(const std::uint8_t* b, IntBlock& out) {
  one_group(out, e8m0_half_scale(b[0]), 0.0f);
  for (std::size_t j = 0; j < 32; ++j) out.q[j] = kE2M1Doubled[nibble(b + 1, j)];
}

// Q4_K and Q5_K: eight groups of 32 with 6-bit scales and minimums; see tensor/kquant_codecs.cpp.
void kquant_scales(const std::uint8_t* b, IntBlock& out) {
  const float d = load_fp16(b);
  const float dmin = load_fp16(b + 2);
  for (std::size_t g = 0; g < 8; ++g) {
    const auto sm = unpack_scale_min(b + 4, g);
    out.scale[g] = d * static_cast<float>(sm.scale);
    out.min[g] = -dmin * static_cast<float>(sm.min);
  }
}

void unpack_q4_k(const std::uint8_t* b, IntBlock& out) {
  kquant_scales(b, out);
  const std::uint8_t* qs = b + 16;
  for (std::size_t pair = 0; pair < 4; ++pair) {
    for (std::size_t l = 0; l < 32; ++l) {
      out.q[64 * pair + l] = static_cast<std::int8_t>(qs[32 * pair + l] & 0x0f);
      out.q[64 * pair + 32 + l] = static_cast<std::int8_t>(qs[32 * pair + l] >> 4);
    }
  }
}

void unpack_q5_k(const std::uint8_t* b, IntBlock& out) {
  kquant_scales(b, out);
  const std::uint8_t* qh = b + 16;
  const std::uint8_t* qs = b + 48;
  for (std::size_t pair = 0; pair < 4; ++pair) {
    for (std::size_t l = 0; l < 32; ++l) {
      const int lo = (qs[32 * pair + l] & 0x0f) | (((qh[l] >> (2 * pair)) & 1) << 4);
      const int hi = (qs[32 * pair + l] >> 4) | (((qh[l] >> (2 * pair + 1)) & 1) << 4);
      out.q[64 * pair + l] = static_cast<std::int8_t>(lo);
      out.q[64 * pair + 32 + l] = static_cast<std::int8_t>(hi);
    }
  }
}

// Q6_K: sixteen groups of 16 with signed 8-bit scales; see tensor/kquant_codecs.cpp.
void unpack_q6_k(const std::uint8_t* b, IntBlock& out) {
  const std::uint8_t* ql = b;
  const std::uint8_t* qh = b + 128;
  const std::uint8_t* scales = b + 192;
  const float d = load_fp16(b + 208);
  for (std::size_t g = 0; g < 16; ++g) {
    out.scale[g] = d * static_cast<float>(static_cast<std::int8_t>(scales[g]));
    out.min[g] = 0.0f;
  }
  for (std::size_t half = 0; half < 2; ++half) {
    const std::uint8_t* l4 = ql + 64 * half;
    const std::uint8_t* h2 = qh + 32 * half;
    for (std::size_t l = 0; l < 32; ++l) {
      for (unsigned k = 0; k < 4; ++k) {
        const std::uint8_t low_byte = l4[l + 32 * (k & 1)];
        const int low = k < 2 ? (low_byte & 0x0f) : (low_byte >> 4);
        const int high = (h2[l] >> (2 * k)) & 3;
        out.q[128 * half + 32 * k + l] = static_cast<std::int8_t>((low | (high << 4)) - 32);
      }
    }
  }
}

}  // namespace

IntFormat int_format_of(tensor::TensorType type) {
  using tensor::TensorType;
  using tensor::detail::kQ4KBytes;
  using tensor::detail::kQ5KBytes;
  using tensor::detail::kQ6KBytes;
  switch (type) {
    case TensorType::kQ4_0: return {32, 18, 32, unpack_q4_0};
    case TensorType::kQ4_1: return {32, 20, 32, unpack_q4_1};
    case TensorType::kQ5_0: return {32, 22, 32, unpack_q5_0};
    case TensorType::kQ5_1: return {32, 24, 32, unpack_q5_1};
    case TensorType::kQ8_0: return {32, 34, 32, unpack_q8_0};
    case TensorType::kIQ4_NL: return {32, 18, 32, unpack_iq4_nl};
    case TensorType::kMXFP4:
      return {32, kMxfp4Bytes, 32, unpack_mxfp4};
    case TensorType::kQ4_K: return {256, kQ4KBytes, 32, unpack_q4_k};
    case TensorType::kQ5_K: return {256, kQ5KBytes, 32, unpack_q5_k};
    case TensorType::kQ6_K: return {256, kQ6KBytes, 16, unpack_q6_k};
    default: return {};
  }
}

}  // namespace pensieve::kernels::scalar
