// tensor/quantize: reference quantization from float32 into the packed GGUF block formats.
//
// Used to build test models and synthetic fixtures, and as the activation quantizer's reference.
// The schemes are simple and correct (every value lands within its block's quantization step)
// rather than the error-minimising searches of production quantizers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/type.hpp"

namespace pensieve::tensor {

// Whether quantize() supports `type`.
bool can_quantize(TensorType type);

// Encodes `count` floats from `src` into `dst` (any alignment; bytes_for(type, count) bytes).
// Requires can_quantize(type) and count a whole number of blocks; breaking either aborts.
void quantize(TensorType type, const float* src, std::uint8_t* dst, std::size_t count);

}  // namespace pensieve::tensor
