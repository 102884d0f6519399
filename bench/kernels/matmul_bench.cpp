// Matmul speed per instruction-set variant and weight type, through the path the model takes
// (kernels::matmul over a PreparedInput, rows split over a 2-thread pool).
//
//   decode/...      one token: weight bytes read per second (GB/s), to hold against memory bandwidth.
//                   "cache" shapes fit the L3 cache; "dram" cycles over enough copies of an
//                   8192×2048 matrix (≥ 640 MB) that each call reads from memory.
//   prefill/...     many tokens: 2·rows·cols·tokens operations per second (GOP/s), quantizing the
//                   input each time as a forward pass does.
//   bandwidth/...   the machine's read bandwidth with the same pool, over the same sizes.
//
// Names are variant/type/shape, e.g. `--benchmark_filter='avx512/Q4_K/(decode|prefill)'`;
// `--benchmark_filter=-scalar` leaves out the slow reference (about a minute for the rest).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/thread_pool.hpp"
#include "kernels/kernel_table.hpp"
#include "kernels/prepared_input.hpp"
#include "tensor/quantize.hpp"

namespace pensieve::kernels {
namespace {

using tensor::TensorType;

constexpr unsigned kThreads = 2;
constexpr std::size_t kDramBytes = std::size_t{640} << 20;

core::ThreadPool& pool() {
  static core::ThreadPool p(kThreads);
  return p;
}

// `copies` back-to-back copies of one random rows × cols matrix of `type`.
struct Weights {
  std::vector<std::uint8_t> bytes;
  std::size_t matrix_bytes = 0;
  std::size_t copies = 1;
  WeightMatrix matrix(std::size_t i, TensorType type, std::size_t rows, std::size_t cols) const {
    return {type, bytes.data() + i * matrix_bytes, rows, cols, matrix_bytes / rows};
  }
};

Weights make_weights(TensorType type, std::size_t rows, std::size_t cols, std::size_t min_total) {
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> values(rows * cols);
  for (auto& v : values) v = dist(rng);
  Weights w;
  w.matrix_bytes = rows * *tensor::bytes_for(type, cols);
  w.copies = std::max<std::size_t>(1, (min_total + w.matrix_bytes - 1) / w.matrix_bytes);
  w.bytes.resize(w.copies * w.matrix_bytes);
  if (type == TensorType::kF32) {
    std::memcpy(w.bytes.data(), values.data(), w.matrix_bytes);
  } else {
    tensor::quantize(type, values.data(), w.bytes.data(), values.size());
  }
  for (std::size_t i = 1; i < w.copies; ++i) {
    std::memcpy(w.bytes.data() + i * w.matrix_bytes, w.bytes.data(), w.matrix_bytes);
  }
  return w;
}

std::vector<float> random_input(std::size_t tokens, std::size_t cols) {
  std::mt19937 rng(2);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(tokens * cols);
  for (auto& v : x) v = dist(rng);
  return x;
}

// The weights of the last case, kept for the next variant of the same type and shape (quantizing
// the larger sets takes longer than measuring them).
const Weights& weights_for(TensorType type, std::size_t rows, std::size_t cols, std::size_t min_total) {
  static Weights cached;
  static std::tuple<TensorType, std::size_t, std::size_t, std::size_t> key{};
  const auto wanted = std::make_tuple(type, rows, cols, min_total);
  if (cached.bytes.empty() || key != wanted) {
    cached = Weights{};
    cached = make_weights(type, rows, cols, min_total);
    key = wanted;
  }
  return cached;
}

void run_matmul(benchmark::State& state, Isa isa, TensorType type, std::size_t rows, std::size_t cols,
                std::size_t tokens, std::size_t min_total) {
  const KernelTable& table = kernel_table(isa);
  const Weights& w = weights_for(type, rows, cols, min_total);
  const std::vector<float> x = random_input(tokens, cols);
  std::vector<float> out(tokens * rows);
  PreparedInput input(tokens, cols);
  std::size_t i = 0;
  for (auto _ : state) {
    input.set(x.data(), cols, tokens, cols);
    matmul(table, pool(), w.matrix(i, type, rows, cols), input, out.data(), rows);
    benchmark::DoNotOptimize(out.data());
    i = (i + 1) % w.copies;
  }
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(iterations * static_cast<double>(w.matrix_bytes) / 1e9,
                                              benchmark::Counter::kIsRate);
  state.counters["GOP/s"] = benchmark::Counter(
      iterations * 2.0 * static_cast<double>(rows * cols * tokens) / 1e9, benchmark::Counter::kIsRate);
}

// Each thread sums its part of `bytes` (a multiple of 4 KiB per thread) with 64-bit loads the
// compiler vectorizes: the read bandwidth the decode figures are measured against.
void run_bandwidth(benchmark::State& state, std::size_t bytes) {
  const std::size_t words = bytes / sizeof(std::uint64_t);
  std::unique_ptr<std::uint64_t[]> data(new std::uint64_t[words]);
  for (std::size_t k = 0; k < words; ++k) data[k] = k;
  std::uint64_t sums[kThreads] = {};
  for (auto _ : state) {
    pool().run_on_all([&](unsigned thread, unsigned n_threads) {
      const std::size_t begin = words / n_threads * thread, end = words / n_threads * (thread + 1);
      std::uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (std::size_t k = begin; k < end; k += 4) {
        s0 += data[k];
        s1 += data[k + 1];
        s2 += data[k + 2];
        s3 += data[k + 3];
      }
      sums[thread] += s0 + s1 + s2 + s3;
    });
    benchmark::DoNotOptimize(sums);
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(bytes) / 1e9,
                                              benchmark::Counter::kIsRate);
}

const TensorType kTypes[] = {TensorType::kF32,  TensorType::kF16,  TensorType::kBF16,   TensorType::kQ8_0,
                             TensorType::kQ4_0, TensorType::kQ4_1, TensorType::kQ5_0,   TensorType::kQ5_1,
                             TensorType::kIQ4_NL, TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K};

struct Shape {
  const char* name;
  std::size_t rows, cols, tokens, min_total;
};
const Shape kShapes[] = {
    {"decode/2048x2048/cache", 2048, 2048, 1, 0},
    {"decode/8192x2048/cache", 8192, 2048, 1, 0},
    {"decode/8192x2048/dram", 8192, 2048, 1, kDramBytes},
    {"prefill/2048x2048/64", 2048, 2048, 64, 0},
    {"prefill/2048x2048/512", 2048, 2048, 512, 0},
    {"prefill/8192x2048/512", 8192, 2048, 512, 0},
    {"prefill/2048x8192/512", 2048, 8192, 512, 0},
};

void register_all() {
  for (TensorType type : kTypes) {
    for (const Shape& s : kShapes) {
      for (Isa isa : supported_isas()) {
        const std::string name = std::string(name_of(isa)) + "/" + std::string(tensor::name_of(type)) + "/" + s.name;
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
          run_matmul(state, isa, type, s.rows, s.cols, s.tokens, s.min_total);
        })->Unit(benchmark::kMillisecond)->UseRealTime();
      }
    }
  }
  // The sizes of the decode cases: an 8192×2048 matrix of Q4_K (9.4 MB), Q8_0 (17.8 MB), F16
  // (33.6 MB), and the DRAM set.
  for (std::size_t mb : {std::size_t{9}, std::size_t{18}, std::size_t{34}, kDramBytes >> 20}) {
    benchmark::RegisterBenchmark(("bandwidth/" + std::to_string(mb) + "MB").c_str(), [=](benchmark::State& state) {
      run_bandwidth(state, mb << 20);
    })->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

}  // namespace
}  // namespace pensieve::kernels

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  pensieve::kernels::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
