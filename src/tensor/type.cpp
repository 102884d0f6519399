#include "tensor/type.hpp"

#include <array>
#include <cstdlib>

#include "tensor/codecs.hpp"

namespace pensieve::tensor {
namespace {

using namespace detail;  // NOLINT: the codec functions named in the table

constexpr std::array kTraits = {
    TypeTraits{TensorType::kF32, "F32", 1, 4, dequantize_f32, quantize_f32},
    TypeTraits{TensorType::kF16, "F16", 1, 2, dequantize_f16, quantize_f16},
    TypeTraits{TensorType::kQ4_0, "Q4_0", 32, 18, dequantize_q4_0, quantize_q4_0},
    TypeTraits{TensorType::kQ4_1, "Q4_1", 32, 20, dequantize_q4_1, quantize_q4_1},
    TypeTraits{TensorType::kQ5_0, "Q5_0", 32, 22, dequantize_q5_0, quantize_q5_0},
    TypeTraits{TensorType::kQ5_1, "Q5_1", 32, 24, dequantize_q5_1, quantize_q5_1},
    TypeTraits{TensorType::kQ8_0, "Q8_0", 32, 34, dequantize_q8_0, quantize_q8_0},
    TypeTraits{TensorType::kQ8_1, "Q8_1", 32, 36, dequantize_q8_1},
    TypeTraits{TensorType::kQ2_K, "Q2_K", 256, 84, dequantize_q2_k},
    TypeTraits{TensorType::kQ3_K, "Q3_K", 256, 110, dequantize_q3_k},
    TypeTraits{TensorType::kQ4_K, "Q4_K", 256, 144, dequantize_q4_k, quantize_q4_k},
    TypeTraits{TensorType::kQ5_K, "Q5_K", 256, 176, dequantize_q5_k, quantize_q5_k},
    TypeTraits{TensorType::kQ6_K, "Q6_K", 256, 210, dequantize_q6_k, quantize_q6_k},
    TypeTraits{TensorType::kQ8_K, "Q8_K", 256, 292, dequantize_q8_k, quantize_q8_k},
    TypeTraits{TensorType::kIQ2_XXS, "IQ2_XXS", 256, 66},
    TypeTraits{TensorType::kIQ2_XS, "IQ2_XS", 256, 74},
    TypeTraits{TensorType::kIQ3_XXS, "IQ3_XXS", 256, 98},
    TypeTraits{TensorType::kIQ1_S, "IQ1_S", 256, 50},
    TypeTraits{TensorType::kIQ4_NL, "IQ4_NL", 32, 18, dequantize_iq4_nl, quantize_iq4_nl},
    TypeTraits{TensorType::kIQ3_S, "IQ3_S", 256, 110},
    TypeTraits{TensorType::kIQ2_S, "IQ2_S", 256, 82},
    TypeTraits{TensorType::kIQ4_XS, "IQ4_XS", 256, 136, dequantize_iq4_xs},
    TypeTraits{TensorType::kI8, "I8", 1, 1},
    TypeTraits{TensorType::kI16, "I16", 1, 2},
    TypeTraits{TensorType::kI32, "I32", 1, 4},
    TypeTraits{TensorType::kI64, "I64", 1, 8},
    TypeTraits{TensorType::kF64, "F64", 1, 8},
    TypeTraits{TensorType::kIQ1_M, "IQ1_M", 256, 56},
    TypeTraits{TensorType::kBF16, "BF16", 1, 2, dequantize_bf16, quantize_bf16},
    TypeTraits{TensorType::kTQ1_0, "TQ1_0", 256, 54},
    TypeTraits{TensorType::kTQ2_0, "TQ2_0", 256, 66},
    TypeTraits{TensorType::kMXFP4, "MXFP4", 32, 17, dequantize_mxfp4, quantize_mxfp4},
};

// Raw type id -> row of kTraits (or -1), so look-ups on hot paths cost one index.
constexpr std::size_t kMaxRawType = 64;
constexpr auto kRowOfId = [] {
  std::array<int, kMaxRawType> rows{};
  rows.fill(-1);
  for (std::size_t i = 0; i < kTraits.size(); ++i) {
    rows[static_cast<std::size_t>(kTraits[i].type)] = static_cast<int>(i);
  }
  return rows;
}();

}  // namespace

std::optional<TypeTraits> traits_of(std::uint32_t raw_type) {
  if (raw_type >= kMaxRawType || kRowOfId[raw_type] < 0) return std::nullopt;
  return kTraits[static_cast<std::size_t>(kRowOfId[raw_type])];
}

const TypeTraits& traits_of(TensorType type) {
  const auto raw = static_cast<std::uint32_t>(type);
  if (raw >= kMaxRawType || kRowOfId[raw] < 0) std::abort();  // every enumerator has a row above
  return kTraits[static_cast<std::size_t>(kRowOfId[raw])];
}

std::string_view name_of(TensorType type) { return traits_of(type).name; }

std::span<const TypeTraits> all_types() { return kTraits; }

std::optional<std::uint64_t> bytes_for(TensorType type, std::uint64_t count) {
  const auto& t = traits_of(type);
  if (count % t.block_size != 0) return std::nullopt;
  return count / t.block_size * t.block_bytes;
}

}  // namespace pensieve::tensor
