// kernels: the numeric building blocks of a forward pass. This directory starts with the scalar
// float32 reference of each op; it stays forever as the oracle that faster variants are tested
// against, so it favours clarity and exactness over speed.
//
// kernels/matmul: y = W·x for a weight matrix stored in any GGUF tensor type. Each weight row is
// dequantized into a caller-provided scratch row just before use, so models are never expanded
// to float in memory and one dequantization serves every token of a batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/repacking.hpp"
#include "tensor/type.hpp"

namespace pensieve::kernels {

// A 2-D view of weights as GGUF stores them: `rows` rows of `cols` values each, row-major.
struct WeightMatrix {
  tensor::TensorType type = tensor::TensorType::kF32;
  const std::uint8_t* data = nullptr;
  std::size_t rows = 0;       // output features
  std::size_t cols = 0;       // input features; a whole number of the type's blocks
  std::size_t row_bytes = 0;  // bytes of one stored row
  // The same rows rearranged for the kernels that read them (repacking.hpp), in the layout
  // `repacking` names, or null (kNone). Kernels that read another layout, or none, use `data`.
  const std::uint8_t* repacked = nullptr;
  Repacking repacking = Repacking::kNone;

  const std::uint8_t* row(std::size_t r) const { return data + r * row_bytes; }
  // Rows [first, first + count): a fused tensor's part (q of qkv) or one expert of a stack. The
  // slice keeps the repacked copy when it starts on a unit of its layout (16 rows for panels; its
  // last unit may run past the slice).
  WeightMatrix slice_rows(std::size_t first, std::size_t count) const {
    const std::size_t unit = repacked_unit_rows(repacking);
    if (repacked == nullptr || first % unit != 0)
      return {type, data + first * row_bytes, count, cols, row_bytes};
    return {type,      data + first * row_bytes,
            count,     cols,
            row_bytes, repacked + repacked_offset(repacking, first / unit, row_bytes),
            repacking};
  }
};

// For each input t < n: out[t * out_stride + r] = Σ_c W[r][c] · x[t * x_stride + c], r < rows.
// `row_scratch` holds at least w.cols floats.
void matmul(const WeightMatrix& w, const float* x, std::size_t x_stride, std::size_t n, float* out,
            std::size_t out_stride, std::span<float> row_scratch);

// Σ a[i]·b[i] with fixed-order partial sums (deterministic, and vectorisable without fast-math).
float dot(const float* a, const float* b, std::size_t n);

// One row of any type as floats (an embedding look-up), from the repacked copy when w has one; `out`
// holds w.cols floats.
void dequantize_row(const WeightMatrix& w, std::size_t r, float* out);

}  // namespace pensieve::kernels
