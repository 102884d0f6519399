// model/sequence: the state of one token sequence being computed: its KV cache, sized once at
// creation from the model's shape, the context capacity and the cache's element type — and, for
// sequences computed on their own (Model::forward), a workspace for chunks of max_batch tokens.
// Sequences computed together in batches share one workspace instead (model/workspace.hpp).
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
#include "model/hyperparams.hpp"
#include "model/workspace.hpp"

namespace pensieve::model {

class Model;
class ForwardPass;

// How a sequence is built, besides its context size.
struct SequenceOptions {
  // Tokens Model::forward computes per chunk, in the sequence's own workspace. 0: no workspace of
  // its own; the sequence is computed only in batches (Model::forward_batch) with a shared one.
  std::uint32_t max_batch = 64;
  // Full precision by default: what the reference logits assume. Serving chooses f16.
  kernels::KvType kv_type = kernels::KvType::kF32;
};

// Sizes of a Sequence's buffers; shared with the memory estimate so both agree.
struct SequenceLayout {
  std::uint32_t n_ctx = 0;
  kernels::KvType kv_type = kernels::KvType::kF32;
  std::size_t kv_bytes = 0;   // K and V caches of all layers together
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

  std::uint32_t size() const { return size_; }       // tokens in the cache
  std::uint32_t capacity() const { return n_ctx_; }  // n_ctx
  std::uint32_t max_batch() const { return workspace_ ? workspace_->max_rows() : 0; }
  kernels::KvType kv_type() const { return kv_type_; }

  // Forgets every token from position n on (keeps a prefix for reuse). No-op if n >= size().
  void truncate(std::uint32_t n);
  void clear() { size_ = 0; }

  // The cache of positions [0, n) as stored, for keeping a prompt's cache across restarts: n a
  // multiple of kPrefixGranularity (whole key tiles), per layer and key/value head the keys then
  // the values — the same bytes whatever the context size. save_prefix hands them to `write`
  // region by region (n <= size()); load_prefix has `read` fill them (n <= capacity()) and then
  // holds n tokens, or none if `read` failed.
  static constexpr std::uint32_t kPrefixGranularity = kernels::kKeyTile;
  static std::uint64_t prefix_bytes(const Hyperparams& hp, kernels::KvType kv_type, std::uint32_t n);
  Status save_prefix(std::uint32_t n, FunctionRef<Status(std::span<const std::uint8_t>)> write) const;
  Status load_prefix(std::uint32_t n, FunctionRef<Status(std::span<std::uint8_t>)> read);

  // Debugging: called with each named intermediate tensor during forward (slow; off by default).
  void set_observer(TensorObserver observer) { observer_ = std::move(observer); }

 private:
  friend class Model;
  friend class ForwardPass;

  Sequence(const Model& model, const Hyperparams& hp, const SequenceLayout& layout);

  const Model* model_;  // the model whose shape the buffers were planned for
  std::uint32_t n_ctx_;
  kernels::KvType kv_type_;
  std::uint32_t size_ = 0;
  TensorObserver observer_;

  // One layer of the KV cache, as the attention kernels address it.
  kernels::KvLayer kv_layer(int layer, const Hyperparams& hp) const;
  Status check_prefix(std::uint32_t n, std::uint32_t limit, const char* what) const;
  // Calls `region(bytes)` for the prefix's regions in the saved order (see save_prefix).
  Status for_prefix_regions(std::uint32_t n, FunctionRef<Status(std::span<std::uint8_t>)> region) const;

  // (n_layer, n_head_kv, n_ctx, row bytes) in kv_type_; keys in transposed tiles (kv_cache.hpp).
  std::vector<std::uint8_t> k_cache_;
  std::vector<std::uint8_t> v_cache_;
  std::unique_ptr<Workspace> workspace_;  // for Model::forward; null when max_batch is 0
};

}  // namespace pensieve::model
