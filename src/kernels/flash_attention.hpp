// kernels/flash_attention: causal attention of a chunk of queries over a sequence's KV cache, in
// tiles with an online softmax (the flash-attention scheme): no score matrix as long as the
// context is ever formed, so memory stays O(tile) at any context length and time grows linearly
// with it per query.
//
// Work is split over the thread pool by (key/value head × query tile): the query rows of a tile
// are all the query heads that share one key/value head, for several consecutive tokens, so each
// key and value row converted from the cache serves every one of them. A single query (decoding)
// is split by its keys instead: each task takes a range of key tiles for every head, so it reads
// the cache in the order a block lays it out, and the partial softmax states (max, sum, weighted
// values) are merged at the end; with too few tiles to keep every thread busy the heads are split
// into groups too.
//
// The inner loops come from the KernelTable (attention_kernels.hpp); this file is the same for
// every instruction set.
#pragma once

#include <cstddef>
#include <vector>

#include "core/thread_pool.hpp"
#include "kernels/attention.hpp"
#include "kernels/kernel_table.hpp"
#include "kernels/kv_cache.hpp"

namespace pensieve::kernels {

struct AttentionQueries {
  const float* q = nullptr;  // (n, n_head · head_dim_k), row t at q + t·q_stride, after RoPE
  std::size_t q_stride = 0;
  std::size_t n = 0;     // queries
  std::size_t pos0 = 0;  // position of query 0; its keys are already in the cache
  // 0: query at position p sees keys [0, p]; else only the last `window` of them.
  std::size_t window = 0;
  float scale = 1.0f;    // applied to q·k
  // Per query head (n_head), or null: a logit that joins each softmax's denominator and weighs no
  // value, so a head may attend to nothing (gpt-oss's learned sinks).
  const float* sinks = nullptr;
  float* out = nullptr;  // (n, n_head · head_dim_v), row t at out + t·out_stride
  std::size_t out_stride = 0;
};

// Every buffer the attention of one sequence needs, planned once for its shape, its largest chunk
// of queries and the pool's threads: per thread a query tile's rows, one key and one value tile
// in floats, scores and the running softmax state; and the partial states of split decoding.
class AttentionScratch {
 public:
  AttentionScratch() = default;
  AttentionScratch(const AttentionShape& shape, std::size_t max_queries, unsigned threads);
  // Moves keep the buffer (and so the aligned pointer into it); copies would not.
  AttentionScratch(AttentionScratch&&) noexcept = default;
  AttentionScratch& operator=(AttentionScratch&&) noexcept = default;
  AttentionScratch(const AttentionScratch&) = delete;
  AttentionScratch& operator=(const AttentionScratch&) = delete;

  static std::size_t floats_needed(const AttentionShape& shape, std::size_t max_queries, unsigned threads);

 private:
  friend void flash_attention(const KernelTable&, core::ThreadPool&, const AttentionShape&, const KvLayer&,
                              const AttentionQueries&, AttentionScratch&);
  std::size_t query_tile_ = 0;     // tokens per query tile
  std::size_t rows_ = 0;           // query rows per tile: group · query_tile_
  std::size_t buffer_rows_ = 0;    // rows a thread's buffers hold: rows_, or n_head if more
  std::size_t thread_floats_ = 0;  // one thread's share
  std::size_t max_splits_ = 0;     // key splits of a single query
  unsigned threads_ = 0;
  std::vector<float> buffer_;
  float* base_ = nullptr;  // buffer_ aligned to a cache line
};

// queries.out ← softmax(q·kᵀ · scale) · v for each query and head, over the keys it may see
// (causal, and within the sliding window when one is set). Keys/values of every position up to
// pos0 + n − 1 must be in `cache`. `scratch` must have been planned for this shape, at least
// queries.n queries and pool.size() threads.
void flash_attention(const KernelTable& kernels, core::ThreadPool& pool, const AttentionShape& shape,
                     const KvLayer& cache, const AttentionQueries& queries, AttentionScratch& scratch);

}  // namespace pensieve::kernels
