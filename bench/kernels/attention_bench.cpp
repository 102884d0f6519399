// Tiled attention for one layer of Llama-3.2-1B's shape (32 query heads sharing 8 key/value heads
// of 64 dims, 16 layers) over a KV cache of `context` positions, on a pool of 2 threads. The cache
// holds every layer, laid out as the server's pool lays it out (a block holds one tile of every
// layer and head, so a head's tiles of one layer lie a block apart), and each call attends the next
// layer in turn, as the forward pass does: a layer's cache is read from memory, not from the cache a
// call before left it in.
//
//   prefill: a chunk of 64 queries at the end of the context (positions context−64 … context−1),
//            as the last chunk of a long prompt computes it; reported per query token. At long
//            contexts also a chunk of 256, the scheduler's prompt step through `serve`.
//   decode:  one query at position context−1 (keys split across the threads).
//
// Counters: per_token (seconds per query token, which must grow linearly with the context),
// per_key (seconds per token per cached key: flat when it does), scratch_bytes (everything the
// attention uses besides the cache: the same at every context) and rss_growth (peak resident
// memory gained while the benchmark loop ran: 0 — nothing is allocated per call), and bytes_per_second
// (one layer's cache over the time of a call, to set beside the machine's read bandwidth).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/anonymous_memory.hpp"
#include "core/thread_pool.hpp"
#include "kernels/attention.hpp"
#include "kernels/flash_attention.hpp"
#include "kernels/kernel_table.hpp"
#include "kernels/kv_cache.hpp"

namespace pensieve::kernels {
namespace {

constexpr std::size_t kHeads = 32, kKvHeads = 8, kHeadDim = 64, kLayers = 16;
constexpr std::size_t kChunk = 64;
constexpr std::size_t kServeChunk = 256;  // engine::SchedulerOptions::prompt_chunk
constexpr unsigned kThreads = 2;

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

void BM_Attention(benchmark::State& state) {
  const auto isa = static_cast<Isa>(state.range(0));
  const auto kv_type = static_cast<KvType>(state.range(1));
  const auto context = static_cast<std::size_t>(state.range(2));
  const auto queries = static_cast<std::size_t>(state.range(3));
  if (!cpu_supports(isa)) {
    state.SkipWithError("the CPU lacks this instruction set");
    return;
  }
  const AttentionShape shape{kHeads, kKvHeads, kHeadDim, kHeadDim};
  const std::size_t kv_dim = kKvHeads * kHeadDim;

  // The cache — the blocks in order — filled with random keys and values (as after RoPE, roughly
  // unit scale; every layer the same); in anonymous memory on huge pages where the kernel gives
  // them, as the server's block pool is (model/kv_pool).
  const KvBlockLayout blocks{kv_type, kLayers, kKvHeads, kHeadDim, kHeadDim};
  const std::size_t n_blocks = (context + kKvBlockTokens - 1) / kKvBlockTokens;
  const std::size_t cache_bytes = n_blocks * blocks.bytes();
  const core::AnonymousMemory cache = core::AnonymousMemory::allocate(cache_bytes).value();
  std::vector<std::uint32_t> block_table(n_blocks);
  for (std::size_t i = 0; i < n_blocks; ++i) block_table[i] = static_cast<std::uint32_t>(i);
  std::vector<KvLayer> layers;
  for (std::size_t l = 0; l < kLayers; ++l)
    layers.push_back(blocks.layer(l, cache.data(), blocks.bytes(), block_table.data(), block_table.size()));
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> k(kChunk * kv_dim), v(kChunk * kv_dim);
  for (std::size_t p = 0; p < context; p += kChunk) {
    for (auto& x : k) x = dist(rng);
    for (auto& x : v) x = dist(rng);
    for (const KvLayer& layer : layers)
      store_kv(layer, p, std::min(kChunk, context - p), k.data(), kv_dim, v.data(), kv_dim);
  }
  std::vector<float> q(queries * kHeads * kHeadDim), out(queries * kHeads * kHeadDim);
  for (auto& x : q) x = dist(rng);

  core::ThreadPool pool(kThreads);
  AttentionScratch scratch(shape, std::max(queries, kChunk), kThreads);
  AttentionQueries args;
  args.q = q.data();
  args.q_stride = kHeads * kHeadDim;
  args.n = queries;
  args.pos0 = context - queries;
  args.scale = 0.125f;
  args.out = out.data();
  args.out_stride = kHeads * kHeadDim;
  const KernelTable& table = kernel_table(isa);
  flash_attention(table, pool, shape, layers[0], args, scratch);  // warm: threads awake

  const long rss_before = peak_rss_kib();
  std::size_t next = 1;
  for (auto _ : state) {
    flash_attention(table, pool, shape, layers[next], args, scratch);
    benchmark::DoNotOptimize(out.data());
    next = (next + 1) % kLayers;
  }
  const long rss_after = peak_rss_kib();

  const auto tokens = static_cast<double>(queries);
  state.counters["per_token"] =
      benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["per_key"] =
      benchmark::Counter(tokens * static_cast<double>(context),
                         benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["scratch_bytes"] = static_cast<double>(
      AttentionScratch::floats_needed(shape, std::max(queries, kChunk), kThreads) * sizeof(float));
  state.counters["cache_bytes"] = static_cast<double>(cache_bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n_blocks * blocks.layer_bytes()));
  state.counters["rss_growth"] = static_cast<double>((rss_after - rss_before) * 1024);
  state.SetLabel(std::string(name_of(isa)) + " " + std::string(name_of(kv_type)) + " " +
                 (queries == 1 ? "decode" : "prefill"));
}

// The one-query reference the forward pass used before (kernels::attention: f32 cache, a score
// vector as long as the context, one thread), for comparison with decode above.
void BM_OneQueryReference(benchmark::State& state) {
  const auto context = static_cast<std::size_t>(state.range(0));
  const AttentionShape shape{kHeads, kKvHeads, kHeadDim, kHeadDim};
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> keys(context * kKvHeads * kHeadDim), values(keys.size());
  for (auto& x : keys) x = dist(rng);
  for (auto& x : values) x = dist(rng);
  std::vector<float> q(kHeads * kHeadDim), out(kHeads * kHeadDim), scores(context);
  for (auto& x : q) x = dist(rng);
  for (auto _ : state) {
    attention(q.data(), keys.data(), values.data(), 0, context, shape, 0.125f, out.data(), scores.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["per_token"] =
      benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.SetLabel("reference f32 decode, 1 thread");
}

void Args(benchmark::internal::Benchmark* b) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    for (int context : {512, 4096, 16384, 32768}) {
      for (int queries : {static_cast<int>(kChunk), 1}) {
        b->Args({static_cast<int>(isa), static_cast<int>(KvType::kF16), context, queries});
      }
      if (isa != Isa::kScalar && context >= 16384)
        b->Args(
            {static_cast<int>(isa), static_cast<int>(KvType::kF16), context, static_cast<int>(kServeChunk)});
    }
  }
  // The other cache types: a prompt chunk at one long context on the best variant, one query
  // (decoding) at three on both SIMD variants.
  for (KvType type : {KvType::kF32, KvType::kQ8_0}) {
    b->Args({static_cast<int>(Isa::kAvx512), static_cast<int>(type), 16384, static_cast<int>(kChunk)});
    for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
      for (int context : {4096, 16384, 32768})
        b->Args({static_cast<int>(isa), static_cast<int>(type), context, 1});
    }
  }
}

BENCHMARK(BM_Attention)
    ->Apply(Args)
    ->ArgNames({"isa", "kv", "context", "queries"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK(BM_OneQueryReference)
    ->ArgName("context")
    ->Arg(512)
    ->Arg(4096)
    ->Arg(16384)
    ->Arg(32768)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace pensieve::kernels
