// kernels/scalar: the reference inner loops of tiled attention — plain loops, one value at a time,
// in the order the contract in attention_kernels.hpp states. Every other variant is tested
// against these.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/attention_kernels.hpp"
#include "tensor/half.hpp"

namespace pensieve::kernels {
namespace {

constexpr std::size_t kQ8Block = 32;

void load_keys_f32(const std::uint8_t* tile, std::size_t n, std::size_t dim, float* out) {
  for (std::size_t d = 0; d < dim; ++d) {
    for (std::size_t j = 0; j < kKeyTile; ++j) {
      float x = 0.0f;
      if (j < n) std::memcpy(&x, tile + (d * kKeyTile + j) * sizeof(float), sizeof(float));
      out[d * kKeyTile + j] = x;
    }
  }
}

void load_keys_f16(const std::uint8_t* tile, std::size_t n, std::size_t dim, float* out) {
  for (std::size_t d = 0; d < dim; ++d) {
    for (std::size_t j = 0; j < kKeyTile; ++j) {
      std::uint16_t h = 0;
      if (j < n) std::memcpy(&h, tile + (d * kKeyTile + j) * 2, 2);
      out[d * kKeyTile + j] = tensor::fp16_to_fp32(h);
    }
  }
}

void load_keys_q8_0(const std::uint8_t* tile, std::size_t n, std::size_t dim, float* out) {
  const std::uint8_t* codes = tile + dim / kQ8Block * kKeyTile * 2;
  for (std::size_t d = 0; d < dim; ++d) {
    for (std::size_t j = 0; j < kKeyTile; ++j) {
      float x = 0.0f;
      if (j < n) {
        std::uint16_t scale = 0;
        std::memcpy(&scale, tile + (d / kQ8Block * kKeyTile + j) * 2, 2);
        x = tensor::fp16_to_fp32(scale) *
            static_cast<float>(static_cast<std::int8_t>(codes[d * kKeyTile + j]));
      }
      out[d * kKeyTile + j] = x;
    }
  }
}

void load_values_f32(const std::uint8_t* rows, std::size_t row_bytes, std::size_t n, std::size_t dim,
                     float* out) {
  for (std::size_t j = 0; j < n; ++j) std::memcpy(out + j * dim, rows + j * row_bytes, dim * sizeof(float));
}

void load_values_f16(const std::uint8_t* rows, std::size_t row_bytes, std::size_t n, std::size_t dim,
                     float* out) {
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t d = 0; d < dim; ++d) {
      std::uint16_t h = 0;
      std::memcpy(&h, rows + j * row_bytes + d * 2, 2);
      out[j * dim + d] = tensor::fp16_to_fp32(h);
    }
  }
}

void load_values_q8_0(const std::uint8_t* rows, std::size_t row_bytes, std::size_t n, std::size_t dim,
                      float* out) {
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint8_t* row = rows + j * row_bytes;
    for (std::size_t b = 0; b < dim / kQ8Block; ++b) {
      const std::uint8_t* block = row + b * 34;
      std::uint16_t scale = 0;
      std::memcpy(&scale, block, 2);
      const float s = tensor::fp16_to_fp32(scale);
      for (std::size_t i = 0; i < kQ8Block; ++i) {
        out[j * dim + b * kQ8Block + i] = s * static_cast<float>(static_cast<std::int8_t>(block[2 + i]));
      }
    }
  }
}

void scores(const float* q, std::size_t rows, std::size_t dim, const float* kt, float* s) {
  for (std::size_t m = 0; m < rows; ++m) {
    for (std::size_t j = 0; j < kKeyTile; ++j) {
      float sum = 0.0f;
      for (std::size_t d = 0; d < dim; ++d) sum += q[m * dim + d] * kt[d * kKeyTile + j];
      s[m * kKeyTile + j] = sum;
    }
  }
}

void softmax_step(float* s, std::size_t rows, float* row_max, float* row_sum, float* acc, std::size_t dim_v) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (std::size_t m = 0; m < rows; ++m) {
    float* row = s + m * kKeyTile;
    const float tile_max = *std::max_element(row, row + kKeyTile);
    const float new_max = std::max(row_max[m], tile_max);
    if (new_max == kNegInf) {  // nothing visible yet: exp(-inf - -inf) would be NaN
      std::fill(row, row + kKeyTile, 0.0f);
      continue;
    }
    const float factor = std::exp(row_max[m] - new_max);  // 0 for the first visible tile
    float sum = 0.0f;
    for (std::size_t j = 0; j < kKeyTile; ++j) {
      row[j] = std::exp(row[j] - new_max);
      sum += row[j];
    }
    row_sum[m] = row_sum[m] * factor + sum;
    if (factor != 1.0f) {
      for (std::size_t d = 0; d < dim_v; ++d) acc[m * dim_v + d] *= factor;
    }
    row_max[m] = new_max;
  }
}

void accumulate(const float* p, std::size_t rows, std::size_t n, const float* v, std::size_t dim_v,
                float* acc) {
  for (std::size_t m = 0; m < rows; ++m) {
    for (std::size_t j = 0; j < n; ++j) {
      const float w = p[m * kKeyTile + j];
      for (std::size_t d = 0; d < dim_v; ++d) acc[m * dim_v + d] += w * v[j * dim_v + d];
    }
  }
}

}  // namespace

AttentionKernels scalar_attention_kernels() {
  AttentionKernels k;
  k.load_keys = {load_keys_f32, load_keys_f16, load_keys_q8_0};
  k.load_values = {load_values_f32, load_values_f16, load_values_q8_0};
  k.scores = scores;
  k.softmax_step = softmax_step;
  k.accumulate = accumulate;
  return k;
}

AttentionKernels merged_attention_kernels(AttentionKernels table, const AttentionKernels& fallback) {
  for (std::size_t i = 0; i < kKvTypes; ++i) {
    if (table.load_keys[i] == nullptr) table.load_keys[i] = fallback.load_keys[i];
    if (table.load_values[i] == nullptr) table.load_values[i] = fallback.load_values[i];
  }
  if (table.scores == nullptr) table.scores = fallback.scores;
  if (table.softmax_step == nullptr) table.softmax_step = fallback.softmax_step;
  if (table.accumulate == nullptr) table.accumulate = fallback.accumulate;
  return table;
}

}  // namespace pensieve::kernels
