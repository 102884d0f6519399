// engine/bench: prefill and decode throughput of a loaded model, measured the way llama-bench
// measures it (pp: one prompt of random tokens; tg: one token at a time), so `pensieve bench` and
// `llama-bench -p 512 -n 128` figures can sit in one table. Also the facts a reader needs to judge
// a figure: parameter count, weight types, bytes a decode step reads, and the peak RSS.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "kernels/kv_type.hpp"
#include "model/memory_estimate.hpp"
#include "model/model.hpp"

namespace pensieve::engine {

struct BenchOptions {
  std::uint32_t n_prompt = 512;  // pp test: tokens in the prompt; 0 skips it
  std::uint32_t n_gen = 128;     // tg test: tokens generated; 0 skips it
  // Tokens already in the sequence when each pp and tg run starts (llama-bench's -d): computed once,
  // untimed, and kept while each run's tokens are dropped again. Not with `streams`.
  std::uint32_t depth = 0;
  std::uint32_t repetitions = 3;
  // Tokens per forward pass when computing the prompt: serve's chunk (engine::SlotConfig), which
  // also measured faster than 512 (a pass's activations stay in L2).
  std::uint32_t batch = 256;
  kernels::KvType kv_type = kernels::KvType::kF16;  // as serving (and llama-bench) use
  // tg×S test: S sequences decoding together, one forward pass per step over a token of each (as
  // `serve` computes concurrent streams); n_gen steps. 0 or 1 skips it.
  std::uint32_t streams = 0;
  std::uint64_t seed = 1234;  // of the random token ids
  // Told what is running ("warm-up pp512", "tg128 2/3: 41.3 t/s"); may be empty.
  std::function<void(const std::string&)> progress = {};
  // When set: the machine's read bandwidth now, in bytes/s. After the tests (and the peak RSS
  // reading), the tg test runs once more, each repetition between two readings (see
  // BracketedDecode).
  std::function<Result<double>()> bandwidth_probe = {};
};

// Tokens per second over the repetitions.
struct ThroughputStats {
  std::vector<double> samples;
  double mean = 0;
  double stddev = 0;  // sample standard deviation (n - 1); 0 with one sample
};

ThroughputStats summarize(std::vector<double> samples);

// tg repetitions each timed between two bandwidth readings: run i between bandwidth[i] and
// bandwidth[i + 1]. On a host whose bandwidth wanders from second to second this compares a run
// with the memory it had, not with a reading taken a minute earlier.
struct BracketedDecode {
  std::vector<double> tokens_per_s;
  std::vector<double> bandwidth;  // bytes/s; one more than the runs
};

struct BenchResult {
  std::optional<ThroughputStats> prompt;      // pp; empty when n_prompt was 0
  std::optional<ThroughputStats> generation;  // tg; empty when n_gen was 0
  std::optional<ThroughputStats> streams;     // tg×S, all streams' tokens; empty when not run
  std::uint32_t n_ctx = 0;                    // of the one sequence both tests use
  // With a depth: the KV cache a tg step reads on average (depth + half the run's tokens, every
  // layer), to add to the weights; 0 without one.
  std::uint64_t kv_read_bytes_per_token = 0;
  std::uint32_t max_batch = 0;
  model::MemoryEstimate estimate;               // weights + KV + scratch of that sequence
  std::optional<std::uint64_t> peak_rss_bytes;  // VmHWM after the runs; empty if unreadable
  std::optional<BracketedDecode> bracketed;     // with a bandwidth probe and a tg test
};

// One untimed warm-up run of each test (it pages the weights in), then `repetitions` timed runs.
// pp: an empty sequence, then one forward call over n_prompt random tokens in chunks of `batch`,
// logits of the last row only; tokens/s = n_prompt / seconds.
// tg: an empty sequence given one token (untimed), then n_gen forward calls of one random token
// each, logits of that token; tokens/s = n_gen / seconds.
// With a depth, both start from the sequence holding `depth` random tokens instead of empty. Random tokens
// rather than argmax feed-back, as llama-bench does: the figure is the forward pass's, not a sampler's. tg×S:
// S empty sequences given one token each (untimed), then n_gen batched forward calls of one random token per
// sequence, logits of every one; tokens/s = S · n_gen / seconds.
Result<BenchResult> run_bench(const model::Model& model, const BenchOptions& options);

struct TypeShare {
  std::string type;  // "Q4_K"
  std::size_t tensors = 0;
  std::uint64_t bytes = 0;
};

struct ModelFacts {
  std::uint64_t params = 0;      // elements of every tensor in the file
  std::vector<TypeShare> types;  // largest share of bytes first
  // Weight bytes one decode step reads: every bound tensor except the embedding table (only one
  // row of it is read), unless it doubles as the output matrix; of each expert stack only the
  // share of the experts a token uses.
  std::uint64_t decode_bytes_per_token = 0;
};

ModelFacts model_facts(const model::Model& model);

// VmHWM of this process from /proc/self/status.
Result<std::uint64_t> read_peak_rss_bytes();

}  // namespace pensieve::engine
