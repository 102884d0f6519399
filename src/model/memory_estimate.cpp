#include "model/memory_estimate.hpp"

#include "model/sequence.hpp"

namespace pensieve::model {

MemoryEstimate estimate_memory(const Hyperparams& hp, std::uint64_t weights_bytes, std::uint32_t n_ctx,
                               std::uint32_t n_parallel) {
  return estimate_memory(hp, weights_bytes, n_ctx, n_parallel, Sequence::kDefaultMaxBatch);
}

MemoryEstimate estimate_memory(const Hyperparams& hp, std::uint64_t weights_bytes, std::uint32_t n_ctx,
                               std::uint32_t n_parallel, std::uint32_t max_batch) {
  const SequenceLayout layout = SequenceLayout::plan(hp, n_ctx, max_batch);
  MemoryEstimate e;
  e.weights_bytes = weights_bytes;
  e.kv_cache_bytes = layout.kv_cache_bytes() * n_parallel;
  e.scratch_bytes = layout.scratch_bytes() * n_parallel;
  return e;
}

}  // namespace pensieve::model
