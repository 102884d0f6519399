#include "synth/tensor_fill.hpp"

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "synth/random_fill.hpp"
#include "synth/rope_factors.hpp"
#include "tensor/quantize.hpp"

namespace pensieve::synth {
namespace {

// Below this many values a run is made on the calling thread: starting threads would cost more.
constexpr std::uint64_t kMinParallelValues = std::uint64_t{1} << 18;
// Floats generated before each quantize call: small enough to stay in L2.
constexpr std::size_t kBatchValues = std::size_t{1} << 16;

struct RowSource {
  PlannedTensor t;
  std::uint64_t stream = 0;
  std::uint64_t row_bytes = 0;
  std::vector<float> fixed_row;  // rope factors: the one row of a non-random tensor

  // Rows [first, first + n) into dst (n · row_bytes bytes).
  void make_rows(std::uint64_t first, std::uint64_t n, std::uint8_t* dst) const {
    const std::size_t cols = static_cast<std::size_t>(t.row_length());
    const std::size_t batch_rows = std::max<std::size_t>(1, kBatchValues / cols);
    std::vector<float> values(batch_rows * cols);
    for (std::uint64_t done = 0; done < n;) {
      const std::size_t rows = static_cast<std::size_t>(std::min<std::uint64_t>(batch_rows, n - done));
      for (std::size_t r = 0; r < rows; ++r) {
        const std::span<float> row(values.data() + r * cols, cols);
        switch (t.fill) {
          case Fill::kRandom:
            random_row(stream, first + done + r, t.scale, row);
            break;
          case Fill::kConstant:
            std::fill(row.begin(), row.end(), t.scale);
            break;
          case Fill::kRopeFactors:
            std::copy(fixed_row.begin(), fixed_row.end(), row.begin());
            break;
        }
      }
      tensor::quantize(t.type, values.data(), dst + done * row_bytes, rows * cols);
      done += rows;
    }
  }
};

}  // namespace

gguf::Writer::RowFillFn make_row_fill(const PlannedTensor& t, const Shape& shape, std::uint64_t seed,
                                      unsigned threads) {
  auto source = std::make_shared<RowSource>();
  source->t = t;
  source->stream = tensor_stream(seed, t.name);
  source->row_bytes = *tensor::bytes_for(t.type, t.row_length());
  if (t.fill == Fill::kRopeFactors && shape.llama3_rope) {
    source->fixed_row = llama3_rope_factors(*shape.llama3_rope, shape.rope_freq_base, shape.head_dim);
  }
  threads = std::max(1u, threads);
  return [source, threads](std::uint64_t first_row, std::span<std::uint8_t> out) {
    const std::uint64_t rows = out.size() / source->row_bytes;
    const std::uint64_t workers =
        rows * source->t.row_length() < kMinParallelValues ? 1 : std::min<std::uint64_t>(threads, rows);
    // Contiguous row ranges, one per worker; the calling thread takes the first.
    const std::uint64_t per_worker = (rows + workers - 1) / workers;
    std::vector<std::thread> pool;
    for (std::uint64_t w = 1; w < workers; ++w) {
      const std::uint64_t lo = w * per_worker, hi = std::min(rows, lo + per_worker);
      if (lo >= hi) break;
      pool.emplace_back([&source, first_row, out, lo, hi] {
        source->make_rows(first_row + lo, hi - lo, out.data() + lo * source->row_bytes);
      });
    }
    source->make_rows(first_row, std::min(rows, per_worker), out.data());
    for (auto& th : pool) th.join();
  };
}

}  // namespace pensieve::synth
