// tensor/dequantize: the scalar reference that turns packed tensor data back into float32.
//
// This is the oracle every optimized kernel is checked against, so it favours obviously-correct
// code over speed. Block layouts are those of GGUF files (see type.hpp for sizes).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/type.hpp"

namespace pensieve::tensor {

// Whether dequantize() supports `type`.
bool can_dequantize(TensorType type);

// Decodes `count` values from `src` (any alignment) into `dst`. Requires can_dequantize(type) and
// count a whole number of blocks; breaking either is a programming error and aborts.
void dequantize(TensorType type, const std::uint8_t* src, float* dst, std::size_t count);

}  // namespace pensieve::tensor
