// model/sequence: the state of one token sequence being computed: its KV cache — blocks of a KV
// pool (model/kv_pool.hpp), taken as tokens are appended and given back as they are forgotten,
// either from a pool of its own sized for its capacity or from one shared with other sequences,
// which may then share a prefix's blocks — and, for sequences computed on their own
// (Model::forward), a workspace for chunks of max_batch tokens. Sequences computed together in
// batches share one workspace instead (model/workspace.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/function_ref.hpp"
#include "core/result.hpp"
#include "kernels/attention_kernels.hpp"
#include "kernels/kv_cache.hpp"
#include "model/block_table.hpp"
#include "model/hyperparams.hpp"
#include "model/kv_pool.hpp"
#include "model/workspace.hpp"

namespace pensieve::model {

class Model;
class ForwardPass;

// How a sequence is built, besides its context size.
struct SequenceOptions {
  // Tokens Model::forward computes per chunk, in the sequence's own workspace. 0: no workspace of
  // its own; the sequence is computed only in batches (Model::forward_batch) with a shared one.
  std::uint32_t max_batch = 64;
  // Full precision by default: what the reference logits assume. Serving chooses f16. A sequence
  // on a shared pool has the pool's type, whatever this says.
  kernels::KvType kv_type = kernels::KvType::kF32;
};

// Sizes of a Sequence's buffers; shared with the memory estimate so both agree.
struct SequenceLayout {
  std::uint32_t n_ctx = 0;
  kernels::KvType kv_type = kernels::KvType::kF32;
  std::size_t kv_bytes = 0;   // its own pool: ceil(n_ctx / 64) blocks (KvPool::bytes_for)
  WorkspaceLayout workspace;  // its own forward-pass scratch; none (max_rows 0) when max_batch is 0

  static SequenceLayout plan(const Hyperparams& hp, std::uint32_t n_ctx, const SequenceOptions& options,
                             unsigned threads);
  std::uint64_t kv_cache_bytes() const { return kv_bytes; }
  std::uint64_t scratch_bytes() const { return workspace.bytes(); }
};

// An intermediate tensor of a forward pass, offered to a debugging observer: `rows` tokens of
// `cols` values, row-major. `layer` is -1 outside the blocks (embeddings, final norm).
struct TensorView {
  std::string_view name;
  int layer = -1;
  const float* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
};
using TensorObserver = std::function<void(const TensorView&)>;

class Sequence {
 public:
  static constexpr std::uint32_t kDefaultMaxBatch = SequenceOptions{}.max_batch;

  Sequence(Sequence&&) noexcept = default;
  Sequence& operator=(Sequence&&) noexcept = default;

  std::uint32_t size() const { return size_; }          // tokens in the cache
  std::uint32_t capacity() const { return capacity_; }  // the most tokens it may hold
  std::uint32_t max_batch() const { return workspace_ ? workspace_->max_rows() : 0; }
  kernels::KvType kv_type() const { return blocks_.pool().kv_type(); }
  // The pool its blocks come from (its own, or one shared with other sequences).
  const std::shared_ptr<KvPool>& kv_pool() const { return blocks_.shared_pool(); }
  std::uint32_t kv_blocks() const { return static_cast<std::uint32_t>(blocks_.size()); }

  // Forgets every token from position n on (keeps a prefix for reuse), giving back the blocks
  // wholly past it. No-op if n >= size().
  void truncate(std::uint32_t n);
  void clear() { truncate(0); }

  // Becomes `from`'s first n tokens (n <= from.size(), n <= capacity()) without computing them:
  // this sequence, cleared first, holds the same blocks. Neither sees the other's later tokens: a
  // block two sequences hold is copied before either writes into it. Both must be on one pool.
  Status share_prefix(const Sequence& from, std::uint32_t n);

  // Blocks appending n tokens takes from the pool: new ones past the last, and a copy of the
  // last if another sequence shares it and the tokens go into it.
  std::uint32_t blocks_to_append(std::uint32_t n) const;

  // Pinned (the default): a sequence in use. Unpinned: kept only for reuse, and its blocks count
  // as what dropping cached sequences would free (KvPool::unpinned_only_blocks).
  bool pinned() const { return blocks_.pinned(); }
  void set_pinned(bool pinned) { blocks_.set_pinned(pinned); }

  // The cache of positions [0, n) as stored, for keeping a prompt's cache across restarts: n a
  // multiple of kPrefixGranularity (whole key tiles), in a canonical order — per layer and
  // key/value head, the keys of positions [0, n) as consecutive key tiles, then their value rows —
  // the same bytes whatever the context size or blocks. save_prefix hands them to `write` piece
  // by piece (n <= size()). load_prefix reads such bytes of a `stored`-token prefix (stored >= n)
  // and keeps its first n tokens: `read` fills each piece kept, `skip(bytes)` passes over the
  // rest of each region. It then holds n tokens, or none if `read` or `skip` failed or the pool
  // has too few free blocks.
  static constexpr std::uint32_t kPrefixGranularity = kernels::kKeyTile;
  static std::uint64_t prefix_bytes(const Hyperparams& hp, kernels::KvType kv_type, std::uint32_t n);
  Status save_prefix(std::uint32_t n, FunctionRef<Status(std::span<const std::uint8_t>)> write) const;
  Status load_prefix(std::uint32_t n, std::uint32_t stored, FunctionRef<Status(std::span<std::uint8_t>)> read,
                     FunctionRef<Status(std::size_t)> skip);

  // Debugging: called with each named intermediate tensor during forward (slow; off by default).
  void set_observer(TensorObserver observer) { observer_ = std::move(observer); }

 private:
  friend class Model;
  friend class ForwardPass;

  Sequence(const Model& model, const Hyperparams& hp, std::shared_ptr<KvPool> pool, std::uint32_t capacity,
           const WorkspaceLayout& workspace);

  const Model* model_;  // the model whose shape the buffers were planned for
  std::uint32_t capacity_;
  std::uint32_t size_ = 0;
  TensorObserver observer_;

  // One layer of the KV cache, as the attention kernels address it.
  kernels::KvLayer kv_layer(int layer) const {
    return blocks_.pool().layer(static_cast<std::size_t>(layer), blocks_.blocks());
  }
  Status check_prefix(std::uint32_t n, std::uint32_t limit, const char* what) const;

  // Takes those blocks into pending_: all, or none when the pool has too few free (false).
  bool take_blocks_to_append(std::uint32_t n);
  // Gives pending_ back to the pool (a batch that could not take every part's blocks).
  void give_back_pending();
  // Puts pending_ in place so n more tokens can be written: copies a shared last block into the
  // first, appends the rest.
  void attach_pending(std::uint32_t n);

  // Block i holds positions [64·i, 64·i + 64); there are ceil(size_ / 64) between forward calls.
  BlockTable blocks_;
  std::vector<std::uint32_t> pending_;    // taken for the forward call under way, not yet in blocks_
  std::unique_ptr<Workspace> workspace_;  // for Model::forward; null when max_batch is 0
};

}  // namespace pensieve::model
