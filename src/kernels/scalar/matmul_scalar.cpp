// kernels/scalar/matmul_scalar: the scalar variant's table. Integer kernels go through the common
// IntBlock shape; float types convert a stretch of the row at a time; types without an integer
// kernel (Q2_K, Q3_K, IQ4_XS, …) dequantize row by row and take float dot products.
#include <algorithm>

#include "kernels/kernel_table.hpp"
#include "kernels/ops.hpp"
#include "kernels/scalar/int_blocks.hpp"
#include "kernels/scalar/quantize_scalar.hpp"
#include "tensor/dequantize.hpp"

namespace pensieve::kernels {
namespace {

using scalar::IntBlock;
using scalar::IntFormat;

// Σ over one group of integer products.
int group_dot(const std::int8_t* w, const std::int8_t* a, std::size_t n) {
  int sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += static_cast<int>(w[i]) * static_cast<int>(a[i]);
  return sum;
}

// One weight block against one activation block: Σ_g d_a·(scale_g·Σ q·q_a + min_g·Σ q_a).
float block_dot(const IntBlock& w, const IntFormat& f, const std::uint8_t* act) {
  float acc = 0.0f;
  if (f.block_values == 32) {
    const auto* a = reinterpret_cast<const ActBlock32*>(act);
    acc += w.scale[0] * a->d * static_cast<float>(group_dot(w.q, a->q, 32)) + w.min[0] * a->d_sum;
    return acc;
  }
  const auto* a = reinterpret_cast<const ActBlock256*>(act);
  const std::size_t per_group = f.group_size / 16;  // 16-value sums per group
  for (std::size_t g = 0; g < 256 / f.group_size; ++g) {
    int a_sum = 0;
    for (std::size_t s = 0; s < per_group; ++s) a_sum += a->sums[g * per_group + s];
    const int dot = group_dot(w.q + g * f.group_size, a->q + g * f.group_size, f.group_size);
    const float d = a->d[g * f.group_size / 32];
    acc += w.scale[g] * d * static_cast<float>(dot) + w.min[g] * d * static_cast<float>(a_sum);
  }
  return acc;
}

template <tensor::TensorType kType>
void matmul_int(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
                float* out, std::size_t out_stride) {
  static const IntFormat format = scalar::int_format_of(kType);
  const std::size_t n_blocks = w.cols / format.block_values;
  const std::size_t act_block_bytes = format.block_values == 32 ? sizeof(ActBlock32) : sizeof(ActBlock256);
  IntBlock block;
  for (std::size_t r = row_begin; r < row_end; ++r) {
    for (std::size_t t = 0; t < x.rows; ++t) out[t * out_stride + r] = 0.0f;
    // Each weight block is unpacked once and used for every input row.
    for (std::size_t b = 0; b < n_blocks; ++b) {
      format.unpack(w.row(r) + b * format.block_bytes, block);
      for (std::size_t t = 0; t < x.rows; ++t) {
        out[t * out_stride + r] += block_dot(block, format, x.data + t * x.stride + b * act_block_bytes);
      }
    }
  }
}

// Float weights (and types without an integer kernel): a stretch of the row is turned into floats
// once and dotted with every input row; each input's sum runs over the stretches in order.
constexpr std::size_t kStretch = 256;

void matmul_float(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
                  float* out, std::size_t out_stride) {
  const auto& traits = tensor::traits_of(w.type);
  static_assert(kStretch % 256 == 0, "a stretch holds whole blocks of every type");
  const std::size_t stretch = kStretch;
  float values[kStretch];
  for (std::size_t r = row_begin; r < row_end; ++r) {
    for (std::size_t t = 0; t < x.rows; ++t) out[t * out_stride + r] = 0.0f;
    for (std::size_t c = 0; c < w.cols; c += stretch) {
      const std::size_t len = std::min(stretch, w.cols - c);
      const std::size_t offset = c / traits.block_size * traits.block_bytes;
      tensor::dequantize(w.type, w.row(r) + offset, values, len);
      for (std::size_t t = 0; t < x.rows; ++t) {
        const auto* xt = reinterpret_cast<const float*>(x.data + t * x.stride) + c;
        out[t * out_stride + r] += dot(values, xt, len);
      }
    }
  }
}

template <tensor::TensorType kType>
void add_int(KernelTable& table) {
  table.matmul_rows[static_cast<std::size_t>(kType)] = matmul_int<kType>;
}

}  // namespace

KernelTable scalar_float_kernels() {
  KernelTable table;
  table.isa = Isa::kScalar;
  table.swiglu = swiglu;
  for (const auto& traits : tensor::all_types()) {
    if (traits.dequantize != nullptr && static_cast<std::size_t>(traits.type) < kTypeSlots) {
      table.matmul_rows[static_cast<std::size_t>(traits.type)] = matmul_float;
    }
  }
  return table;
}

KernelTable scalar_kernels() {
  using tensor::TensorType;
  KernelTable table = scalar_float_kernels();
  add_int<TensorType::kQ4_0>(table);
  add_int<TensorType::kQ4_1>(table);
  add_int<TensorType::kQ5_0>(table);
  add_int<TensorType::kQ5_1>(table);
  add_int<TensorType::kQ8_0>(table);
  add_int<TensorType::kIQ4_NL>(table);
  add_int<TensorType::kMXFP4>(table);
  add_int<TensorType::kQ4_K>(table);
  add_int<TensorType::kQ5_K>(table);
  add_int<TensorType::kQ6_K>(table);
  table.quantize_row[static_cast<std::size_t>(ActivationFormat::kQ8x32)] = scalar::quantize_row_q8x32;
  table.quantize_row[static_cast<std::size_t>(ActivationFormat::kQ8x256)] = scalar::quantize_row_q8x256;
  return table;
}

}  // namespace pensieve::kernels
