#include "model/memory_estimate.hpp"

#include "core/thread_pool.hpp"

namespace pensieve::model {

MemoryEstimate estimate_memory(const Hyperparams& hp, std::uint64_t weights_bytes, std::uint32_t n_ctx,
                               std::uint32_t n_parallel, const SequenceOptions& options, unsigned threads) {
  const SequenceLayout layout =
      SequenceLayout::plan(hp, n_ctx, options, threads != 0 ? threads : core::default_thread_count());
  MemoryEstimate e;
  e.weights_bytes = weights_bytes;
  e.kv_cache_bytes = layout.kv_cache_bytes() * n_parallel;
  // Each sequence has its own workspace, but all compute on the same threads, whose kernel
  // scratch they share.
  const std::uint64_t kernel = layout.workspace.kernel_bytes;
  e.scratch_bytes = (layout.scratch_bytes() - kernel) * n_parallel + kernel;
  return e;
}

}  // namespace pensieve::model
