// Scalar reference matmul per weight type: the baseline that fast kernels are measured against.
// Reports weight bytes read per second (the figure to compare with memory bandwidth).
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/matmul.hpp"
#include "tensor/quantize.hpp"

namespace pensieve::kernels {
namespace {

using tensor::TensorType;

void BM_ReferenceMatmul(benchmark::State& state) {
  const auto type = static_cast<TensorType>(state.range(0));
  const auto rows = static_cast<std::size_t>(state.range(1));
  const auto cols = static_cast<std::size_t>(state.range(2));
  const auto tokens = static_cast<std::size_t>(state.range(3));
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(rows * cols);
  for (auto& v : values) v = dist(rng);
  const std::size_t row_bytes = *tensor::bytes_for(type, cols);
  std::vector<std::uint8_t> bytes(rows * row_bytes);
  if (type == TensorType::kF32) {
    std::memcpy(bytes.data(), values.data(), bytes.size());
  } else {
    tensor::quantize(type, values.data(), bytes.data(), values.size());
  }
  const WeightMatrix w{type, bytes.data(), rows, cols, row_bytes};
  std::vector<float> x(tokens * cols), out(tokens * rows), row(cols);
  for (auto& v : x) v = dist(rng);
  for (auto _ : state) {
    matmul(w, x.data(), cols, tokens, out.data(), rows, row);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
  state.SetLabel(std::string(tensor::name_of(type)) + " " + std::to_string(tokens) + " token(s)");
}

void Args(benchmark::internal::Benchmark* b) {
  for (TensorType t : {TensorType::kF32, TensorType::kF16, TensorType::kQ8_0, TensorType::kQ4_0,
                       TensorType::kQ4_K, TensorType::kQ6_K}) {
    for (int tokens : {1, 16}) b->Args({static_cast<int>(t), 1024, 1024, tokens});
  }
}

BENCHMARK(BM_ReferenceMatmul)->Apply(Args)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pensieve::kernels
