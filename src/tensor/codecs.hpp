// tensor/codecs: the per-type block codecs behind the traits table (internal to tensor/).
//
// Each dequantizer turns `n_blocks` whole blocks at `src` (any alignment) into floats; each
// quantizer does the reverse. Families live in their own translation units.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pensieve::tensor::detail {

// float_codecs.cpp
void dequantize_f32(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_f16(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_bf16(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void quantize_f32(const float* src, std::uint8_t* dst, std::size_t n_blocks);
void quantize_f16(const float* src, std::uint8_t* dst, std::size_t n_blocks);
void quantize_bf16(const float* src, std::uint8_t* dst, std::size_t n_blocks);

// legacy_codecs.cpp: the 32-value block formats
void dequantize_q4_0(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_q4_1(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_q5_0(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_q5_1(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_q8_0(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_q8_1(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_iq4_nl(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void quantize_q4_0(const float* src, std::uint8_t* dst, std::size_t n_blocks);
void quantize_q4_1(const float* src, std::uint8_t* dst, std::size_t n_blocks);
void quantize_q5_0(const float* src, std::uint8_t* dst, std::size_t n_blocks);
void quantize_q5_1(const float* src, std::uint8_t* dst, std::size_t n_blocks);
void quantize_q8_0(const float* src, std::uint8_t* dst, std::size_t n_blocks);
void quantize_iq4_nl(const float* src, std::uint8_t* dst, std::size_t n_blocks);

// mxfp4_codec.cpp: the OCP microscaling FP4 block (mxfp4_layout.hpp)
void dequantize_mxfp4(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void quantize_mxfp4(const float* src, std::uint8_t* dst, std::size_t n_blocks);

// kquant_codecs.cpp: the 256-value super-block formats
void dequantize_q2_k(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_q3_k(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_iq4_xs(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_q4_k(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_q5_k(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_q6_k(const std::uint8_t* src, float* dst, std::size_t n_blocks);
void dequantize_q8_k(const std::uint8_t* src, float* dst, std::size_t n_blocks);

// kquant_quantize.cpp
void quantize_q4_k(const float* src, std::uint8_t* dst, std::size_t n_blocks);
void quantize_q5_k(const float* src, std::uint8_t* dst, std::size_t n_blocks);
void quantize_q6_k(const float* src, std::uint8_t* dst, std::size_t n_blocks);
void quantize_q8_k(const float* src, std::uint8_t* dst, std::size_t n_blocks);

}  // namespace pensieve::tensor::detail
