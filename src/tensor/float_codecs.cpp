#include <cstring>

#include "tensor/block_io.hpp"
#include "tensor/codecs.hpp"

namespace pensieve::tensor::detail {

void dequantize_f32(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  std::memcpy(dst, src, n_blocks * sizeof(float));
}

void dequantize_f16(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t i = 0; i < n_blocks; ++i) dst[i] = load_fp16(src + 2 * i);
}

void dequantize_bf16(const std::uint8_t* src, float* dst, std::size_t n_blocks) {
  for (std::size_t i = 0; i < n_blocks; ++i) dst[i] = bf16_to_fp32(load<std::uint16_t>(src + 2 * i));
}

void quantize_f32(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  std::memcpy(dst, src, n_blocks * sizeof(float));
}

void quantize_f16(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  for (std::size_t i = 0; i < n_blocks; ++i) store_fp16(dst + 2 * i, src[i]);
}

void quantize_bf16(const float* src, std::uint8_t* dst, std::size_t n_blocks) {
  for (std::size_t i = 0; i < n_blocks; ++i) store(dst + 2 * i, fp32_to_bf16(src[i]));
}

}  // namespace pensieve::tensor::detail
