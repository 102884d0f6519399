// tensor/type: the ggml tensor type ids used by GGUF files and the block layout of each.
//
// A quantized row is a sequence of blocks; a block packs `block_size` values into
// `block_bytes` bytes. The ids are fixed by the GGUF format and must never be renumbered.
// Every type a current GGUF file may contain is listed, so any well-formed file can be parsed
// and sized; which types can be computed with is a separate question (can_dequantize).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace pensieve::tensor {

enum class TensorType : std::uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

// Block codecs: convert `n_blocks` whole blocks; the packed side may have any alignment.
using DequantizeFn = void (*)(const std::uint8_t* src, float* dst, std::size_t n_blocks);
using QuantizeFn = void (*)(const float* src, std::uint8_t* dst, std::size_t n_blocks);

struct TypeTraits {
  TensorType type;
  std::string_view name;
  std::uint32_t block_size;   // values per block
  std::uint32_t block_bytes;  // bytes per block
  DequantizeFn dequantize = nullptr;  // null where we have no reference dequantizer
  QuantizeFn quantize = nullptr;      // null where we have no reference quantizer
};

// The traits of a raw type id from a file, or nullopt for an id we do not know.
std::optional<TypeTraits> traits_of(std::uint32_t raw_type);
// Constant time; every enumerator has traits.
const TypeTraits& traits_of(TensorType type);

std::string_view name_of(TensorType type);

// Every known type, in id order.
std::span<const TypeTraits> all_types();

// Bytes taken by `count` values, or nullopt if count is not a whole number of blocks.
std::optional<std::uint64_t> bytes_for(TensorType type, std::uint64_t count);

}  // namespace pensieve::tensor
