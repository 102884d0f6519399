// model/sequence: the state of one token sequence being computed: its KV cache and every
// scratch buffer a forward pass needs, sized once at creation from the model's shape, the
// context capacity, the largest batch of tokens computed at a time, the KV cache's element type
// and the model's thread count. A forward call allocates nothing; longer inputs are computed in
// chunks of max_batch tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "kernels/flash_attention.hpp"
#include "kernels/kv_cache.hpp"
#include "kernels/prepared_input.hpp"
#include "model/hyperparams.hpp"

namespace pensieve::model {

class Model;
class ForwardPass;

// How a sequence is built, besides its context size.
struct SequenceOptions {
  std::uint32_t max_batch = 64;  // tokens computed per chunk
  // Full precision by default: what the reference logits assume. Serving chooses f16.
  kernels::KvType kv_type = kernels::KvType::kF32;
};

// Sizes of a Sequence's buffers; shared with the memory estimate so both agree.
struct SequenceLayout {
  std::uint32_t n_ctx = 0;
  std::uint32_t max_batch = 0;
  kernels::KvType kv_type = kernels::KvType::kF32;
  unsigned threads = 1;            // the attention scratch has a share per thread
  std::size_t kv_bytes = 0;        // K and V caches of all layers together
  std::size_t scratch_floats = 0;  // everything else (float and 32-bit index buffers)
  std::size_t prepared_bytes = 0;  // matmul inputs in their quantized forms

  static SequenceLayout plan(const Hyperparams& hp, std::uint32_t n_ctx, const SequenceOptions& options,
                             unsigned threads);
  std::uint64_t kv_cache_bytes() const { return kv_bytes; }
  std::uint64_t scratch_bytes() const { return scratch_floats * sizeof(float) + prepared_bytes; }
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
  std::uint32_t max_batch() const { return max_batch_; }
  kernels::KvType kv_type() const { return kv_type_; }

  // Forgets every token from position n on (keeps a prefix for reuse). No-op if n >= size().
  void truncate(std::uint32_t n);
  void clear() { size_ = 0; }

  // Debugging: called with each named intermediate tensor during forward (slow; off by default).
  void set_observer(TensorObserver observer) { observer_ = std::move(observer); }

 private:
  friend class Model;
  friend class ForwardPass;

  Sequence(const Model& model, const Hyperparams& hp, const SequenceLayout& layout);

  const Model* model_;  // the model whose shape the buffers were planned for
  std::uint32_t n_ctx_;
  std::uint32_t max_batch_;
  kernels::KvType kv_type_;
  std::uint32_t size_ = 0;
  TensorObserver observer_;

  // One layer of the KV cache, as the attention kernels address it.
  kernels::KvLayer kv_layer(int layer, const Hyperparams& hp);

  // (n_layer, n_head_kv, n_ctx, row bytes) in kv_type_; keys in transposed tiles (kv_cache.hpp).
  std::vector<std::uint8_t> k_cache_;
  std::vector<std::uint8_t> v_cache_;
  std::vector<float> k_;                   // (max_batch, k_dim) projected keys, before the cache
  std::vector<float> v_;                   // (max_batch, v_dim) projected values, before the cache
  std::vector<float> x_;                   // (max_batch, n_embd) residual stream
  std::vector<float> xb_;                  // (max_batch, n_embd) normalised input of the current block
  std::vector<float> q_;                   // (max_batch, q_dim)
  std::vector<float> attn_;                // (max_batch, attn_out_dim) attention output per head
  std::vector<float> proj_;                // (max_batch, n_embd) block output before the residual add
  std::vector<float> ffn_gate_;            // (max_batch, max(n_ff, n_ff_expert)); holds the SwiGLU product
  std::vector<float> ffn_up_;              // (max_batch, max(n_ff, n_ff_expert))
  std::vector<float> router_;              // (max_batch, n_expert) router probabilities
  std::vector<std::uint32_t> chosen_;      // (max_batch, n_expert_used) experts chosen per token
  std::vector<float> chosen_weight_;       // (max_batch, n_expert_used) their renormalised weights
  std::vector<float> expert_in_;           // (max_batch, n_embd) the rows routed to one expert
  std::vector<float> expert_out_;          // (max_batch, n_embd)
  std::vector<std::uint32_t> expert_row_;  // (max_batch) batch row of each expert_in row
  std::vector<float> expert_row_weight_;   // (max_batch) router weight of each expert_in row
  std::vector<float> rope_cos_;            // (max_batch, n_rot / 2)
  std::vector<float> rope_sin_;            // (max_batch, n_rot / 2)
  kernels::AttentionScratch attention_;    // tiles and softmax state, per thread
  // Matmul inputs, quantized once for every weight that reads them.
  kernels::PreparedInput embd_in_;  // (max_batch, n_embd): the normed block input, or an expert's rows
  kernels::PreparedInput attn_in_;  // (max_batch, attn_out_dim): the attention output
  kernels::PreparedInput ffn_in_;   // (max_batch, max(n_ff, n_ff_expert)): the SwiGLU product
};

}  // namespace pensieve::model
