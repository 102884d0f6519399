// model/memory_estimate: how much memory running a model takes, before loading it, so the CLI can
// report it and the memory guard can decide whether a model or a request fits.
#pragma once

#include <cstdint>

#include "model/hyperparams.hpp"
#include "model/sequence.hpp"

namespace pensieve::model {

struct MemoryEstimate {
  std::uint64_t weights_bytes = 0;   // the mapped tensor data
  std::uint64_t kv_cache_bytes = 0;  // n_parallel sequences of n_ctx tokens each
  std::uint64_t scratch_bytes = 0;   // per-sequence forward-pass buffers, all sequences, and the
                                     // kernels' per-thread scratch they share
  std::uint64_t total() const { return weights_bytes + kv_cache_bytes + scratch_bytes; }
};

// n_parallel sequences built with `options`, each able to hold n_ctx tokens, on a model computing
// with `threads` threads (0: core::default_thread_count(), as ComputeOptions).
MemoryEstimate estimate_memory(const Hyperparams& hp, std::uint64_t weights_bytes, std::uint32_t n_ctx,
                               std::uint32_t n_parallel, const SequenceOptions& options = {},
                               unsigned threads = 0);

}  // namespace pensieve::model
