// Matmul speed per instruction-set variant and weight type, through the path the model takes
// (kernels::matmul over a PreparedInput, rows split over a 2-thread pool).
//
//   decode/...      one token: weight bytes read per second (GB/s), to hold against memory bandwidth.
//                   "l2" fits each thread's half in a 1–2 MiB L2 cache for the 4- to 8-bit types
//                   (the kernel's compute rate); in the 512 KiB of a Zen 3 core it spills to L3
//                   (Q4_K: 590 KiB a thread), and a 256-row matrix measured no faster there: a
//                   call that short is mostly the region's fixed costs;
//                   "cache" shapes fit the L3 cache; "dram" cycles over enough copies of an
//                   8192×2048 matrix (≥ 2 GB) that each call reads from memory. After each call
//                   the pool also just reads as many bytes from the same place (the same matrix,
//                   or a copy not touched for a while): "of_read" is the median of read time /
//                   call time, the kernel's fraction of read bandwidth measured side by side, so
//                   that both see the same load from whatever else runs on the machine.
//                   "of_prefetched_read" (AVX2 CPUs): the same for a read that also asks for
//                   each line 4 KiB ahead, as the AVX2 decode kernels do. Near 1 the kernel reads
//                   memory as fast as its prefetching lets any loop, whatever it computes.
//   decode/core     one core's rate with a ~200 KB matrix in its L2 cache, the table entry called
//                   on one thread without the pool: the compute ceiling of decode (GB/s).
//   batch/.../N     N tokens, as N streams decoding together: weight bytes read per second (GB/s)
//                   against decode's, and GOP/s.
//   prefill/...     many tokens: 2·rows·cols·tokens operations per second (GOP/s), quantizing the
//                   input each time as a forward pass does.
//   bandwidth/...   the machine's read bandwidth with the same pool, over the same sizes.
//
// Besides the mean rate, each case reports the rate of its faster calls ("best": the 10th
// percentile of call times), and per core ("core_*": work over the time the threads spent inside
// the matmul entry, summed): on a machine shared with other work the mean mostly measures the
// other work; for compute-bound cases twice core_* is what the two cores give when nothing else
// runs. The entry is timed with the steady clock: a thread's CPU clock is a system call (1.4 µs
// on a KVM guest), and with two per range dealt it added tens of µs to every decode call.
//
// Names are variant/type/shape/..., e.g. `--benchmark_filter='avx512/(Q4_K|Q6_K)/|bandwidth'`
// (about 40 s; every avx512 case about 3 minutes; the scalar variant's prefill cases take seconds
// per call, so leave it out or pick shapes:
// `--benchmark_filter='scalar/Q4_K/(decode|prefill/2048x2048/64)'`).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "core/anonymous_memory.hpp"
#include "core/cpu_features.hpp"
#include "core/memory_read_loops.hpp"
#include "core/thread_pool.hpp"
#include "kernels/kernel_table.hpp"
#include "kernels/panel_layout.hpp"
#include "kernels/prepared_input.hpp"
#include "tensor/quantize.hpp"

namespace pensieve::kernels {
namespace {

using tensor::TensorType;

constexpr unsigned kThreads = 2;

// Per-call times, for the rate of the faster calls.
class CallTimes {
 public:
  void start() { start_ = std::chrono::steady_clock::now(); }
  void stop() {
    times_.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  double last() const { return times_.back(); }
  // The 10th percentile of the call times, in seconds.
  double fast() {
    if (times_.empty()) return 1e30;
    auto at = times_.begin() + static_cast<long>(times_.size() / 10);
    std::nth_element(times_.begin(), at, times_.end());
    return *at;
  }

 private:
  std::chrono::steady_clock::time_point start_;
  std::vector<double> times_;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  auto mid = v.begin() + static_cast<long>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

// Several times the L3 cache (which adapts its replacement to keep part of a cyclic set).
constexpr std::size_t kDramBytes = std::size_t{2048} << 20;

core::ThreadPool& pool() {
  static core::ThreadPool p(kThreads);
  return p;
}

// Sums `bytes` from `data` with the pool, each thread its half with `sum`.
template <class Sum>
std::uint64_t pool_sum(const std::uint8_t* data, std::size_t bytes, const Sum& sum) {
  std::uint64_t sums[kThreads] = {};
  pool().run_on_all([&](unsigned thread, unsigned n_threads) {
    constexpr std::size_t kStep = core::read_loops::kWordsPerStep * sizeof(std::uint64_t);
    // The loops want 64-byte aligned whole steps: this thread's half, trimmed to them.
    const auto begin = reinterpret_cast<std::uintptr_t>(data) + bytes / n_threads * thread;
    const std::uintptr_t first = (begin + 63) / 64 * 64;
    const std::size_t n = (begin + bytes / n_threads - first) / kStep * kStep;
    sums[thread] = sum(reinterpret_cast<const std::uint64_t*>(first), n / sizeof(std::uint64_t));
  });
  return sums[0] + sums[1];
}

// Reads `bytes` from `data` with the pool, each thread its half, with the widest of core's
// bandwidth read loops the CPU has (as core::measure_read_bandwidth: narrower loads read less per
// core). Returns a sum so the reads cannot be left out.
std::uint64_t pool_read(const std::uint8_t* data, std::size_t bytes) {
  using SumFn = std::uint64_t (*)(const std::uint64_t*, std::size_t);
  static const SumFn sum = [] {
    const core::CpuFeatures& cpu = core::cpu_features();
    return cpu.avx512f ? core::read_loops::sum_avx512
           : cpu.avx2  ? core::read_loops::sum_avx2
                       : core::read_loops::sum_portable;
  }();
  return pool_sum(data, bytes, sum);
}

// As pool_read, with the AVX2 loop that also prefetches each line 4 KiB ahead, as the AVX2 decode
// kernels do (needs AVX2).
std::uint64_t pool_prefetched_read(const std::uint8_t* data, std::size_t bytes) {
  return pool_sum(data, bytes, [](const std::uint64_t* words, std::size_t n) {
    return core::read_loops::sum_avx2_prefetched(words, n, 4096);
  });
}

// `copies` back-to-back copies of one random rows × cols matrix of `type`, each also repacked
// in `layout` (as a model does for the kernels that read one).
struct Weights {
  std::vector<std::uint8_t> bytes;
  std::size_t matrix_bytes = 0;
  std::size_t copies = 1;
  Repacking layout = Repacking::kNone;
  core::AnonymousMemory repacked;
  std::size_t repacked_stride = 0;
  WeightMatrix matrix(std::size_t i, TensorType type, std::size_t rows, std::size_t cols) const {
    const bool has = layout != Repacking::kNone;
    return {type,
            bytes.data() + i * matrix_bytes,
            rows,
            cols,
            matrix_bytes / rows,
            has ? repacked.data() + i * repacked_stride : nullptr,
            layout};
  }
};

Weights make_weights(TensorType type, std::size_t rows, std::size_t cols, std::size_t min_total,
                     Repacking layout) {
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
    std::uint8_t* copy = w.bytes.data() + i * w.matrix_bytes;
    std::memcpy(copy, w.bytes.data(), w.matrix_bytes);
    // A different low bit in every 4 KiB of every copy: a hypervisor that merges identical pages
    // (KSM) would otherwise make all copies one, read from the cache. (Bit 0 of an even byte is
    // the lowest mantissa bit of a float/half, or a code bit, or at worst halves a block scale.)
    for (std::size_t at = 2 * (i % 2048); at < w.matrix_bytes; at += 4096) copy[at] ^= 1;
  }
  if (layout == Repacking::kNone) return w;
  const std::size_t row_bytes = w.matrix_bytes / rows;
  w.repacked_stride = (repacked_bytes(layout, rows, row_bytes) + 63) / 64 * 64;
  auto repacked = core::AnonymousMemory::allocate(w.copies * w.repacked_stride);
  if (!repacked) throw std::runtime_error(repacked.error().message);
  w.repacked = std::move(*repacked);
  w.layout = layout;
  for (std::size_t i = 0; i < w.copies; ++i) {
    repack(layout, w.matrix(i, type, rows, cols), 0, repacked_units(layout, rows),
           w.repacked.data() + i * w.repacked_stride);
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
const Weights& weights_for(TensorType type, std::size_t rows, std::size_t cols, std::size_t min_total,
                           Repacking layout) {
  static Weights cached;
  static std::tuple<TensorType, std::size_t, std::size_t, std::size_t, Repacking> key{};
  const auto wanted = std::make_tuple(type, rows, cols, min_total, layout);
  if (cached.bytes.empty() || key != wanted) {
    cached = Weights{};
    cached = make_weights(type, rows, cols, min_total, layout);
    key = wanted;
  }
  return cached;
}

// The entry under measurement, and the time the threads spent inside it (all threads, summed).
MatmulRowsFn timed_entry = nullptr;
std::atomic<double> entry_seconds{0.0};

void timed_matmul_rows(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end,
                       const Activations& x, float* out, std::size_t out_stride) {
  const auto start = std::chrono::steady_clock::now();
  timed_entry(w, row_begin, row_end, x, out, out_stride);
  entry_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run_matmul(benchmark::State& state, Isa isa, TensorType type, std::size_t rows, std::size_t cols,
                std::size_t tokens, std::size_t min_total) {
  KernelTable table = kernel_table(isa);
  timed_entry = table.matmul_for(type);
  table.matmul_rows[static_cast<std::size_t>(type)] = timed_matmul_rows;
  entry_seconds = 0.0;
  const Weights& w = weights_for(type, rows, cols, min_total, table.repacking_of(type));
  const std::vector<float> x = random_input(tokens, cols);
  std::vector<float> out(tokens * rows);
  PreparedInput input(tokens, cols);
  std::size_t i = 0;
  CallTimes times;
  std::vector<double> read_ratios, read_rates, prefetched_ratios;
  for (auto _ : state) {
    times.start();
    input.set(x.data(), cols, tokens, cols);
    matmul(table, pool(), w.matrix(i, type, rows, cols), input, out.data(), rows);
    benchmark::DoNotOptimize(out.data());
    times.stop();
    if (tokens == 1) {
      // The same bytes again (in cache), or a copy half the set away (from memory).
      state.PauseTiming();
      const auto call = times.last();
      const auto start = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(
          pool_read(w.matrix((i + w.copies / 2) % w.copies, type, rows, cols).data, w.matrix_bytes));
      const double read = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      read_ratios.push_back(read / call);
      read_rates.push_back(static_cast<double>(w.matrix_bytes) / read / 1e9);
      if (core::cpu_features().avx2) {
        // A third copy, a quarter of the set away: not one the plain read just brought in.
        const auto prefetched_start = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(pool_prefetched_read(
            w.matrix((i + w.copies / 4) % w.copies, type, rows, cols).data, w.matrix_bytes));
        prefetched_ratios.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - prefetched_start).count() /
            call);
      }
      state.ResumeTiming();
    }
    i = (i + 1) % w.copies;
  }
  const double best = times.fast();
  const double core_seconds = entry_seconds / static_cast<double>(state.iterations());
  if (tokens == 1) {
    state.counters["of_read"] = median(read_ratios);
    state.counters["read_GB/s"] = median(read_rates);
    if (!prefetched_ratios.empty()) state.counters["of_prefetched_read"] = median(prefetched_ratios);
  }
  const auto iterations = static_cast<double>(state.iterations());
  const double bytes = static_cast<double>(w.matrix_bytes),
               ops = 2.0 * static_cast<double>(rows * cols * tokens);
  state.counters["GB/s"] = benchmark::Counter(iterations * bytes / 1e9, benchmark::Counter::kIsRate);
  state.counters["GOP/s"] = benchmark::Counter(iterations * ops / 1e9, benchmark::Counter::kIsRate);
  state.counters["best_GB/s"] = bytes / best / 1e9;
  state.counters["best_GOP/s"] = ops / best / 1e9;
  state.counters["core_GB/s"] = bytes / core_seconds / 1e9;
  state.counters["core_GOP/s"] = ops / core_seconds / 1e9;
}

// One core's decode rate with the weights in its L2 cache: the table entry called directly on one
// thread (no pool, no region to start) over a matrix of about 200 KB, the same input each call.
// What a core computes when memory is not what limits it: decode keeps pace with a machine's
// memory only while twice this (two threads) stays well above the read bandwidth.
void run_core_decode(benchmark::State& state, Isa isa, TensorType type) {
  constexpr std::size_t kCols = 2048, kBytes = 200 << 10;
  const std::size_t rows = kBytes / *tensor::bytes_for(type, kCols) / kPanelRows * kPanelRows;
  const KernelTable& table = kernel_table(isa);
  const Weights& w = weights_for(type, rows, kCols, 0, table.repacking_of(type));
  const WeightMatrix m = w.matrix(0, type, rows, kCols);
  const std::vector<float> x = random_input(1, kCols);
  PreparedInput input(1, kCols);
  input.set(x.data(), kCols, 1, kCols);
  const Activations& a = input.in(table.activation_for(type), table, pool());
  const MatmulRowsFn fn = table.matmul_for(type);
  std::vector<float> out(rows);
  CallTimes times;
  for (auto _ : state) {
    times.start();
    fn(m, 0, rows, a, out.data(), rows);
    benchmark::DoNotOptimize(out.data());
    times.stop();
  }
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(w.matrix_bytes) / 1e9,
                         benchmark::Counter::kIsRate);
  state.counters["best_GB/s"] = static_cast<double>(w.matrix_bytes) / times.fast() / 1e9;
}

// Each call reads `chunk` bytes (the next part of a `total`-byte buffer, cycling) with pool_read:
// the machine's read bandwidth, with the same pool and bytes per call as the decode cases.
void run_bandwidth(benchmark::State& state, std::size_t total, std::size_t chunk) {
  std::vector<std::uint8_t> data(total);
  for (std::size_t k = 0; k < total; ++k) data[k] = static_cast<std::uint8_t>(k * 131 + k / 4096);
  std::size_t first = 0;
  CallTimes times;
  for (auto _ : state) {
    times.start();
    benchmark::DoNotOptimize(pool_read(data.data() + first, chunk));
    times.stop();
    first = (first + chunk) % total;
  }
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(chunk) / 1e9,
                         benchmark::Counter::kIsRate);
  state.counters["best_GB/s"] = static_cast<double>(chunk) / times.fast() / 1e9;
}

const TensorType kTypes[] = {TensorType::kF32,    TensorType::kF16,  TensorType::kBF16, TensorType::kQ8_0,
                             TensorType::kQ4_0,   TensorType::kQ4_1, TensorType::kQ5_0, TensorType::kQ5_1,
                             TensorType::kIQ4_NL, TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K,
                             TensorType::kMXFP4};

struct Shape {
  const char* name;
  std::size_t rows, cols, tokens, min_total;
};
const Shape kShapes[] = {
    {"decode/1024x2048/l2", 1024, 2048, 1, 0},
    {"decode/2048x2048/cache", 2048, 2048, 1, 0},
    {"decode/8192x2048/cache", 8192, 2048, 1, 0},
    {"decode/8192x2048/dram", 8192, 2048, 1, kDramBytes},
    {"decode/512x2048/dram", 512, 2048, 1, kDramBytes},
    {"decode/2048x8192/dram", 2048, 8192, 1, kDramBytes},
    {"decode/128256x2048/dram", 128256, 2048, 1, kDramBytes},
    {"batch/1024x2048/l2/2", 1024, 2048, 2, 0},
    {"batch/1024x2048/l2/4", 1024, 2048, 4, 0},
    {"batch/1024x2048/l2/8", 1024, 2048, 8, 0},
    {"batch/8192x2048/dram/4", 8192, 2048, 4, kDramBytes},
    {"batch/8192x2048/dram/8", 8192, 2048, 8, kDramBytes},
    {"prefill/2048x2048/64", 2048, 2048, 64, 0},
    {"prefill/2048x2048/512", 2048, 2048, 512, 0},
    {"prefill/8192x2048/512", 8192, 2048, 512, 0},
    {"prefill/2048x8192/512", 2048, 8192, 512, 0},
};

void register_all() {
  for (TensorType type : kTypes) {
    for (const Shape& s : kShapes) {
      for (Isa isa : supported_isas()) {
        const std::string name =
            std::string(name_of(isa)) + "/" + std::string(tensor::name_of(type)) + "/" + s.name;
        benchmark::RegisterBenchmark(name.c_str(),
                                     [=](benchmark::State& state) {
                                       run_matmul(state, isa, type, s.rows, s.cols, s.tokens, s.min_total);
                                     })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  for (TensorType type : kTypes) {
    for (Isa isa : supported_isas()) {
      const std::string name =
          std::string(name_of(isa)) + "/" + std::string(tensor::name_of(type)) + "/decode/core";
      benchmark::RegisterBenchmark(name.c_str(),
                                   [=](benchmark::State& state) { run_core_decode(state, isa, type); })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
  // The sizes of the decode cases: an 8192×2048 matrix of Q4_K (9.4 MB), Q8_0 (17.8 MB), F16
  // (33.6 MB), read again and again from the cache, and 16 MB at a time from the DRAM set.
  for (std::size_t mb : {std::size_t{9}, std::size_t{18}, std::size_t{34}}) {
    benchmark::RegisterBenchmark(("bandwidth/cache/" + std::to_string(mb) + "MB").c_str(),
                                 [=](benchmark::State& state) { run_bandwidth(state, mb << 20, mb << 20); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark(
      "bandwidth/dram/16MB",
      [](benchmark::State& state) { run_bandwidth(state, kDramBytes, std::size_t{16} << 20); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
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
