// kernels/prepared_input: one float input (rows of a batch) in the activation formats the weights
// it meets need, each made at most once. The attention block's q, k and v projections, or the
// feed-forward's gate and up, read the same input: it is quantized once for all of them, even when
// a mixed-type model (Q4_K_M) pairs them with different weight types. Buffers are sized at
// construction; preparing allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.hpp"
#include "kernels/activations.hpp"
#include "kernels/kernel_table.hpp"

namespace pensieve::kernels {

class PreparedInput {
 public:
  PreparedInput() = default;
  // Room for `max_rows` rows of up to `max_cols` values in every format.
  PreparedInput(std::size_t max_rows, std::size_t max_cols);

  static std::size_t bytes_needed(std::size_t max_rows, std::size_t max_cols);

  // A new input: rows of `cols` floats, row t at x + t·x_stride. Forgets earlier formats.
  void set(const float* x, std::size_t x_stride, std::size_t rows, std::size_t cols);

  // The input in `format`, quantizing it (rows split over the pool) the first time it is asked for.
  const Activations& in(ActivationFormat format, const KernelTable& kernels, core::ThreadPool& pool);

 private:
  std::size_t max_rows_ = 0;
  std::size_t max_cols_ = 0;
  const float* x_ = nullptr;
  std::size_t x_stride_ = 0;
  std::array<std::vector<std::uint8_t>, kActivationFormats> buffers_;
  std::array<Activations, kActivationFormats> prepared_;
  std::array<bool, kActivationFormats> ready_{};
};

// out[t·out_stride + r] = Σ_c W[r][c]·x_t[c] for every row of w and every input row of x, rows
// split over the pool. x must be in kernels.activation_for(w.type).
void matmul(const KernelTable& kernels, core::ThreadPool& pool, const WeightMatrix& w, const Activations& x,
            float* out, std::size_t out_stride);

// The same, preparing x as w needs it.
void matmul(const KernelTable& kernels, core::ThreadPool& pool, const WeightMatrix& w, PreparedInput& x,
            float* out, std::size_t out_stride);

// One matrix of several that read the same input.
struct Projection {
  const WeightMatrix* w;
  float* out;
  std::size_t out_stride;
};

// Every projection's matmul with x, in one parallel region: the rows of all of them are dealt out
// together (kernels/row_dealer), so the threads meet at one barrier instead of one per matrix, and
// a small matrix (k, v) shares its threads' time with the others rather than leaving one idle. At
// most kMaxProjections.
void matmul(const KernelTable& kernels, core::ThreadPool& pool, std::span<const Projection> projections,
            PreparedInput& x);

// One matrix and the input rows it multiplies, already in the format its type needs (a mixture of
// experts: each expert reads the rows routed to it).
struct ProjectionOfRows {
  const WeightMatrix* w;
  Activations x;
  float* out;
  std::size_t out_stride;
};

// The same for projections that read different inputs.
void matmul(const KernelTable& kernels, core::ThreadPool& pool,
            std::span<const ProjectionOfRows> projections);

// The most projections one region takes: the gate and up matrices of 16 experts.
inline constexpr std::size_t kMaxProjections = 32;

// Rows [first, first + count) of x.
Activations rows_of(const Activations& x, std::size_t first, std::size_t count);

}  // namespace pensieve::kernels
