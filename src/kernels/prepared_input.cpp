#include "kernels/prepared_input.hpp"

#include <algorithm>
#include <cassert>

namespace pensieve::kernels {
namespace {

constexpr std::size_t kRowAlign = 64;  // rows per task come in multiples of this (SIMD tiles)

// Rows per task: a few tasks per thread, so a thread that was preempted or started late is caught
// up by others.
std::size_t rows_per_task(std::size_t rows, std::size_t threads) {
  return std::max(kRowAlign, (rows / (4 * threads) + kRowAlign - 1) / kRowAlign * kRowAlign);
}

std::size_t quantized_bytes(ActivationFormat format, std::size_t rows, std::size_t cols) {
  // Round cols down to the format's blocks: a wider input of another format never needs more.
  return rows * activation_row_bytes(format, cols / activation_block_values(format) *
                                                 activation_block_values(format));
}

}  // namespace

PreparedInput::PreparedInput(std::size_t max_rows, std::size_t max_cols) : max_rows_(max_rows), max_cols_(max_cols) {
  buffers_[static_cast<std::size_t>(ActivationFormat::kQ8x32)].resize(
      quantized_bytes(ActivationFormat::kQ8x32, max_rows, max_cols));
  buffers_[static_cast<std::size_t>(ActivationFormat::kQ8x256)].resize(
      quantized_bytes(ActivationFormat::kQ8x256, max_rows, max_cols));
}

std::size_t PreparedInput::bytes_needed(std::size_t max_rows, std::size_t max_cols) {
  return quantized_bytes(ActivationFormat::kQ8x32, max_rows, max_cols) +
         quantized_bytes(ActivationFormat::kQ8x256, max_rows, max_cols);
}

void PreparedInput::set(const float* x, std::size_t x_stride, std::size_t rows, std::size_t cols) {
  assert(rows <= max_rows_ && cols <= max_cols_);
  x_ = x;
  x_stride_ = x_stride;
  ready_.fill(false);
  auto& f32 = prepared_[static_cast<std::size_t>(ActivationFormat::kF32)];
  f32 = {ActivationFormat::kF32, reinterpret_cast<const std::uint8_t*>(x), x_stride * sizeof(float), rows, cols};
  ready_[static_cast<std::size_t>(ActivationFormat::kF32)] = true;
  for (ActivationFormat format : {ActivationFormat::kQ8x32, ActivationFormat::kQ8x256}) {
    auto& a = prepared_[static_cast<std::size_t>(format)];
    a = {format, buffers_[static_cast<std::size_t>(format)].data(), activation_row_bytes(format, cols), rows, cols};
  }
}

const Activations& PreparedInput::in(ActivationFormat format, const KernelTable& kernels, core::ThreadPool& pool) {
  const auto slot = static_cast<std::size_t>(format);
  Activations& a = prepared_[slot];
  if (ready_[slot]) return a;
  const QuantizeRowFn quantize = kernels.quantize_row[slot];
  assert(quantize != nullptr && a.cols % activation_block_values(format) == 0);
  pool.parallel_for(a.rows, [&](std::size_t t) {
    quantize(x_ + t * x_stride_, a.cols, const_cast<std::uint8_t*>(a.data) + t * a.stride);
  });
  ready_[slot] = true;
  return a;
}

void matmul(const KernelTable& kernels, core::ThreadPool& pool, const WeightMatrix& w, const Activations& x,
            float* out, std::size_t out_stride) {
  assert(x.format == kernels.activation_for(w.type) && x.cols == w.cols);
  const MatmulRowsFn fn = kernels.matmul_for(w.type);
  const std::size_t per_task = rows_per_task(w.rows, pool.size());
  const std::size_t tasks = (w.rows + per_task - 1) / per_task;
  pool.parallel_for(tasks, [&](std::size_t task) {
    const std::size_t begin = task * per_task;
    fn(w, begin, std::min(w.rows, begin + per_task), x, out, out_stride);
  });
}

void matmul(const KernelTable& kernels, core::ThreadPool& pool, const WeightMatrix& w, PreparedInput& x,
            float* out, std::size_t out_stride) {
  const Projection one[] = {{&w, out, out_stride}};
  matmul(kernels, pool, one, x);
}

void matmul(const KernelTable& kernels, core::ThreadPool& pool, std::span<const Projection> projections,
            PreparedInput& x) {
  constexpr std::size_t kMaxProjections = 4;
  assert(projections.size() <= kMaxProjections);
  std::size_t total_rows = 0;
  for (const Projection& p : projections) total_rows += p.w->rows;
  const std::size_t per_task = rows_per_task(total_rows, pool.size());
  const Activations* inputs[kMaxProjections];
  std::size_t first_task[kMaxProjections + 1] = {};
  for (std::size_t i = 0; i < projections.size(); ++i) {
    const WeightMatrix& w = *projections[i].w;
    inputs[i] = &x.in(kernels.activation_for(w.type), kernels, pool);
    assert(inputs[i]->cols == w.cols);
    first_task[i + 1] = first_task[i] + (w.rows + per_task - 1) / per_task;
  }
  pool.parallel_for(first_task[projections.size()], [&](std::size_t task) {
    std::size_t i = 0;
    while (task >= first_task[i + 1]) ++i;
    const Projection& p = projections[i];
    const std::size_t begin = (task - first_task[i]) * per_task;
    kernels.matmul_for(p.w->type)(*p.w, begin, std::min(p.w->rows, begin + per_task), *inputs[i], p.out,
                                  p.out_stride);
  });
}

}  // namespace pensieve::kernels
