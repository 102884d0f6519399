// model/memory_estimate: how much memory running a model takes, before loading it, so the CLI can
// report it and the memory guard can decide whether a model or a request fits.
#pragma once

#include <cstdint>

#include "model/hyperparams.hpp"

namespace pensieve::model {

struct MemoryEstimate {
  std::uint64_t weights_bytes = 0;   // the mapped tensor data
  std::uint64_t kv_cache_bytes = 0;  // n_parallel sequences of n_ctx tokens each
  std::uint64_t scratch_bytes = 0;   // per-sequence forward-pass buffers, all sequences
  std::uint64_t total() const { return weights_bytes + kv_cache_bytes + scratch_bytes; }
};

// n_parallel sequences, each able to hold n_ctx tokens and computing up to max_batch at a time.
MemoryEstimate estimate_memory(const Hyperparams& hp, std::uint64_t weights_bytes, std::uint32_t n_ctx,
                               std::uint32_t n_parallel);
MemoryEstimate estimate_memory(const Hyperparams& hp, std::uint64_t weights_bytes, std::uint32_t n_ctx,
                               std::uint32_t n_parallel, std::uint32_t max_batch);

}  // namespace pensieve::model
