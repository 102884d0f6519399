#include "kernels/activations.hpp"

namespace pensieve::kernels {

ActivationFormat activation_format_of(tensor::TensorType weight_type) {
  using tensor::TensorType;
  switch (weight_type) {
    case TensorType::kQ4_0:
    case TensorType::kQ4_1:
    case TensorType::kQ5_0:
    case TensorType::kQ5_1:
    case TensorType::kQ8_0:
    case TensorType::kIQ4_NL:
    case TensorType::kMXFP4:
      return ActivationFormat::kQ8x32;
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
    case TensorType::kQ6_K:
      return ActivationFormat::kQ8x256;
    default:
      // Float types, and the types without an integer kernel (dequantized row by row).
      return ActivationFormat::kF32;
  }
}

std::size_t activation_block_values(ActivationFormat format) {
  switch (format) {
    case ActivationFormat::kF32: return 1;
    case ActivationFormat::kQ8x32: return 32;
    case ActivationFormat::kQ8x256: return 256;
  }
  return 1;
}

std::size_t activation_row_bytes(ActivationFormat format, std::size_t cols) {
  switch (format) {
    case ActivationFormat::kF32: return cols * sizeof(float);
    case ActivationFormat::kQ8x32: return cols / 32 * sizeof(ActBlock32);
    case ActivationFormat::kQ8x256: return cols / 256 * sizeof(ActBlock256);
  }
  return 0;
}

}  // namespace pensieve::kernels
