#include "kernels/prepared_input.hpp"

#include <cassert>
#include <span>

#include "kernels/row_dealer.hpp"

namespace pensieve::kernels {
namespace {

static_assert(kMaxProjections <= RowDealer::kMaxMatrices, "one region deals every projection's rows");

// Runs job(which, begin, end) on every range of the matrices of `rows`, on the pool's threads (or
// on the caller alone when there is too little work to wake them).
template <class Job>
void deal_rows(core::ThreadPool& pool, std::span<const std::size_t> rows, const Job& job) {
  RowDealer dealer(rows, pool.size());
  auto deal = [&](unsigned thread, unsigned) {
    std::size_t which = 0, begin = 0, end = 0;
    while (dealer.next(thread, which, begin, end)) job(which, begin, end);
  };
  if (dealer.one_range()) return deal(0, 1);
  pool.run_on_all(deal);
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
  const std::size_t rows[] = {w.rows};
  deal_rows(pool, rows,
            [&](std::size_t, std::size_t begin, std::size_t end) { fn(w, begin, end, x, out, out_stride); });
}

void matmul(const KernelTable& kernels, core::ThreadPool& pool, const WeightMatrix& w, PreparedInput& x,
            float* out, std::size_t out_stride) {
  const Projection one[] = {{&w, out, out_stride}};
  matmul(kernels, pool, one, x);
}

void matmul(const KernelTable& kernels, core::ThreadPool& pool, std::span<const Projection> projections,
            PreparedInput& x) {
  assert(projections.size() <= kMaxProjections);
  ProjectionOfRows of_rows[kMaxProjections];
  for (std::size_t i = 0; i < projections.size(); ++i) {
    const Projection& p = projections[i];
    of_rows[i] = {p.w, x.in(kernels.activation_for(p.w->type), kernels, pool), p.out, p.out_stride};
  }
  matmul(kernels, pool, std::span<const ProjectionOfRows>(of_rows, projections.size()));
}

void matmul(const KernelTable& kernels, core::ThreadPool& pool,
            std::span<const ProjectionOfRows> projections) {
  assert(projections.size() <= kMaxProjections);
  std::size_t rows[kMaxProjections] = {};
  for (std::size_t i = 0; i < projections.size(); ++i) {
    const ProjectionOfRows& p = projections[i];
    assert(p.x.format == kernels.activation_for(p.w->type) && p.x.cols == p.w->cols);
    rows[i] = p.w->rows;
  }
  deal_rows(pool, std::span(rows, projections.size()),
            [&](std::size_t which, std::size_t begin, std::size_t end) {
              const ProjectionOfRows& p = projections[which];
              kernels.matmul_for(p.w->type)(*p.w, begin, end, p.x, p.out, p.out_stride);
            });
}

Activations rows_of(const Activations& x, std::size_t first, std::size_t count) {
  assert(first + count <= x.rows);
  Activations rows = x;
  rows.data = x.data + first * x.stride;
  rows.rows = count;
  return rows;
}

}  // namespace pensieve::kernels
