// kernels/scalar/int_blocks: every integer-kernel weight type as one common shape, for the scalar
// variant. A block of a type becomes small integers plus a scale and an offset per group:
// value[i] = scale[g]·q[i] + min[g] with g = i / group_size. The scalar matmul needs nothing else
// to know about a type, which keeps the oracle short and easy to check against the dequantizers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/type.hpp"

namespace pensieve::kernels::scalar {

struct IntBlock {
  std::int8_t q[256];
  float scale[16];
  float min[16];
};

using UnpackFn = void (*)(const std::uint8_t* block, IntBlock& out);

struct IntFormat {
  std::size_t block_values = 0;  // 32 or 256
  std::size_t block_bytes = 0;
  std::size_t group_size = 0;    // values sharing one scale and min: 16 or 32
  UnpackFn unpack = nullptr;
};

// The format of a type with an integer kernel (activation_format_of is not F32); else block_values 0.
IntFormat int_format_of(tensor::TensorType type);

}  // namespace pensieve::kernels::scalar
