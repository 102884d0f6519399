// tensor/block_io: unaligned little-endian loads and stores for the fields of quantized blocks.
//
// Blocks sit at arbitrary byte offsets in a mapped file (a Q8_0 block is 34 bytes), so multi-byte
// fields are always copied with memcpy rather than read through a cast pointer.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "tensor/half.hpp"

namespace pensieve::tensor::detail {

static_assert(std::endian::native == std::endian::little, "GGUF block fields are little-endian");

template <typename T>
inline T load(const std::uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

template <typename T>
inline void store(std::uint8_t* p, T value) {
  std::memcpy(p, &value, sizeof(T));
}

inline float load_fp16(const std::uint8_t* p) { return fp16_to_fp32(load<std::uint16_t>(p)); }
inline void store_fp16(std::uint8_t* p, float value) { store(p, fp32_to_fp16(value)); }

}  // namespace pensieve::tensor::detail
