// kernels/activations: the forms a matmul's input rows take. Quantized weights are multiplied with
// activations quantized once per input row to 8-bit integers, so the inner loops are integer dot
// products; float weights take float activations. Which form a weight type pairs with is fixed
// per type (activation_format_of), the same for every instruction-set variant.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/type.hpp"

namespace pensieve::kernels {

enum class ActivationFormat {
  kF32,     // the float row itself
  kQ8x32,   // ActBlock32 per 32 values: the legacy block types, IQ4_NL and MXFP4
  kQ8x256,  // ActBlock256 per 256 values: the K-quants
};
inline constexpr std::size_t kActivationFormats = 3;

// 32 values as q·d, with d·Σq cached for weight types that carry an offset.
struct ActBlock32 {
  std::int8_t q[32];
  float d;
  float d_sum;  // d · Σ q
};
static_assert(sizeof(ActBlock32) == 40);

// 256 values (one K-quant super-block) as eight runs of 32 codes, run j scaled by d[j], with the sum
// of each 16 codes cached for the K-quants' offsets and minimums. A scale per 32 rather than per 256
// values costs the kernels a float conversion and multiply-add per group, where one scale would
// let them sum a block's groups in integers; but it keeps activation error at the legacy types'
// level. With one scale per 256, every K-quant fixture's logits moved 1.33–1.47× as far as the
// established engine's (the bound is 1.25×); with one per 64, 1.07–1.15× (BENCHMARKS.md,
// fourteenth session).
struct ActBlock256 {
  std::int8_t q[256];
  std::int16_t sums[16];  // Σ q[16i .. 16i+15]
  float d[8];             // scale of q[32j .. 32j+31]
};
static_assert(sizeof(ActBlock256) == 320);

ActivationFormat activation_format_of(tensor::TensorType weight_type);
// Values per block of the format (1 for F32) and bytes of a row of `cols` values.
std::size_t activation_block_values(ActivationFormat format);
std::size_t activation_row_bytes(ActivationFormat format, std::size_t cols);

// Input rows in some format: row t starts at data + t·stride bytes.
struct Activations {
  ActivationFormat format = ActivationFormat::kF32;
  const std::uint8_t* data = nullptr;
  std::size_t stride = 0;  // bytes between rows
  std::size_t rows = 0;
  std::size_t cols = 0;
};

}  // namespace pensieve::kernels
