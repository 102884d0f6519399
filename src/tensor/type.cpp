#include "tensor/type.hpp"

#include <array>
#include <cstdlib>

namespace pensieve::tensor {
namespace {

constexpr std::array kTraits = {
    TypeTraits{TensorType::kF32, "F32", 1, 4},
    TypeTraits{TensorType::kF16, "F16", 1, 2},
    TypeTraits{TensorType::kQ4_0, "Q4_0", 32, 18},
    TypeTraits{TensorType::kQ4_1, "Q4_1", 32, 20},
    TypeTraits{TensorType::kQ5_0, "Q5_0", 32, 22},
    TypeTraits{TensorType::kQ5_1, "Q5_1", 32, 24},
    TypeTraits{TensorType::kQ8_0, "Q8_0", 32, 34},
    TypeTraits{TensorType::kQ8_1, "Q8_1", 32, 36},
    TypeTraits{TensorType::kQ2_K, "Q2_K", 256, 84},
    TypeTraits{TensorType::kQ3_K, "Q3_K", 256, 110},
    TypeTraits{TensorType::kQ4_K, "Q4_K", 256, 144},
    TypeTraits{TensorType::kQ5_K, "Q5_K", 256, 176},
    TypeTraits{TensorType::kQ6_K, "Q6_K", 256, 210},
    TypeTraits{TensorType::kQ8_K, "Q8_K", 256, 292},
    TypeTraits{TensorType::kIQ4_NL, "IQ4_NL", 32, 18},
    TypeTraits{TensorType::kIQ4_XS, "IQ4_XS", 256, 136},
    TypeTraits{TensorType::kI8, "I8", 1, 1},
    TypeTraits{TensorType::kI16, "I16", 1, 2},
    TypeTraits{TensorType::kI32, "I32", 1, 4},
    TypeTraits{TensorType::kI64, "I64", 1, 8},
    TypeTraits{TensorType::kF64, "F64", 1, 8},
    TypeTraits{TensorType::kBF16, "BF16", 1, 2},
};

}  // namespace

std::optional<TypeTraits> traits_of(std::uint32_t raw_type) {
  for (const auto& t : kTraits) {
    if (static_cast<std::uint32_t>(t.type) == raw_type) return t;
  }
  return std::nullopt;
}

const TypeTraits& traits_of(TensorType type) {
  for (const auto& t : kTraits) {
    if (t.type == type) return t;
  }
  std::abort();  // every enumerator has a row above
}

std::string_view name_of(TensorType type) { return traits_of(type).name; }

std::optional<std::uint64_t> bytes_for(TensorType type, std::uint64_t count) {
  const auto& t = traits_of(type);
  if (count % t.block_size != 0) return std::nullopt;
  return count / t.block_size * t.block_bytes;
}

}  // namespace pensieve::tensor
