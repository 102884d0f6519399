#include "kernels/matmul.hpp"

#include <cassert>
#include <vector>

#include "tensor/dequantize.hpp"

namespace pensieve::kernels {

float dot(const float* a, const float* b, std::size_t n) {
  constexpr std::size_t kLanes = 8;
  float lanes[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::size_t l = 0; l < kLanes; ++l) lanes[l] += a[i + l] * b[i + l];
  }
  for (; i < n; ++i) lanes[i % kLanes] += a[i] * b[i];
  return ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
}

void dequantize_row(const WeightMatrix& w, std::size_t r, float* out) {
  if (w.repacked == nullptr) {
    tensor::dequantize(w.type, w.row(r), out, w.cols);
    return;
  }
  // From the copy, which stays resident, where the file's pages of the rows were let go. The
  // row's bytes go through a buffer kept per thread (this runs for every token).
  thread_local std::vector<std::uint8_t> row;
  if (row.size() < w.row_bytes) row.resize(w.row_bytes);
  unpack_repacked_row(w, r, row.data());
  tensor::dequantize(w.type, row.data(), out, w.cols);
}

void matmul(const WeightMatrix& w, const float* x, std::size_t x_stride, std::size_t n, float* out,
            std::size_t out_stride, std::span<float> row_scratch) {
  assert(row_scratch.size() >= w.cols);
  float* row = row_scratch.data();
  for (std::size_t r = 0; r < w.rows; ++r) {
    dequantize_row(w, r, row);
    for (std::size_t t = 0; t < n; ++t) out[t * out_stride + r] = dot(row, x + t * x_stride, w.cols);
  }
}

}  // namespace pensieve::kernels
