#include "model/sequence.hpp"

#include <algorithm>

namespace pensieve::model {
namespace {

struct Sizes {
  std::size_t k_cache, v_cache;  // bytes
  std::size_t x, q, k, v, attn, ffn, ffn_width, router, chosen, rope, attention;
};

kernels::AttentionShape attention_shape_of(const Hyperparams& hp) {
  return {hp.n_head, hp.n_head_kv, hp.head_dim_k, hp.head_dim_v};
}

Sizes sizes_of(const Hyperparams& hp, std::uint32_t n_ctx, const SequenceOptions& options, unsigned threads) {
  const std::size_t b = options.max_batch;
  const std::size_t ffn_width = std::max(hp.n_ff, hp.n_ff_expert);
  const std::size_t cached = std::size_t{hp.n_layer} * hp.n_head_kv * n_ctx;  // head rows per cache
  Sizes s{};
  s.k_cache = cached * kernels::kv_row_bytes(options.kv_type, hp.head_dim_k);
  s.v_cache = cached * kernels::kv_row_bytes(options.kv_type, hp.head_dim_v);
  s.x = b * hp.n_embd;
  s.q = b * hp.q_dim();
  s.k = b * hp.k_dim();
  s.v = b * hp.v_dim();
  s.attn = b * hp.attn_out_dim();
  s.ffn = b * ffn_width;
  s.ffn_width = ffn_width;
  s.router = b * hp.n_expert;
  s.chosen = b * hp.n_expert_used;
  s.rope = b * (hp.n_rot / 2);
  s.attention = kernels::AttentionScratch::floats_needed(attention_shape_of(hp), b, threads);
  return s;
}

}  // namespace

SequenceLayout SequenceLayout::plan(const Hyperparams& hp, std::uint32_t n_ctx,
                                    const SequenceOptions& options, unsigned threads) {
  const Sizes s = sizes_of(hp, n_ctx, options, threads);
  const std::uint32_t max_batch = options.max_batch;
  SequenceLayout layout;
  layout.n_ctx = n_ctx;
  layout.max_batch = max_batch;
  layout.kv_type = options.kv_type;
  layout.threads = threads;
  layout.kv_bytes = s.k_cache + s.v_cache;
  const std::size_t expert_rows = hp.is_moe() ? 2 * s.x + 2 * std::size_t{max_batch} : 0;
  // x, xb, proj; q, k, v; attn; gate, up; router; chosen ids + weights; expert buffers; cos, sin;
  // attention tiles.
  layout.scratch_floats = 3 * s.x + s.q + s.k + s.v + s.attn + 2 * s.ffn + s.router + 2 * s.chosen +
                          expert_rows + 2 * s.rope + s.attention;
  layout.prepared_bytes = kernels::PreparedInput::bytes_needed(max_batch, hp.n_embd) +
                          kernels::PreparedInput::bytes_needed(max_batch, hp.attn_out_dim()) +
                          kernels::PreparedInput::bytes_needed(max_batch, s.ffn_width);
  return layout;
}

Sequence::Sequence(const Model& model, const Hyperparams& hp, const SequenceLayout& layout)
    : model_(&model), n_ctx_(layout.n_ctx), max_batch_(layout.max_batch), kv_type_(layout.kv_type) {
  const SequenceOptions options{layout.max_batch, layout.kv_type};
  const Sizes s = sizes_of(hp, layout.n_ctx, options, layout.threads);
  k_cache_.resize(s.k_cache);
  v_cache_.resize(s.v_cache);
  x_.resize(s.x);
  xb_.resize(s.x);
  q_.resize(s.q);
  k_.resize(s.k);
  v_.resize(s.v);
  attn_.resize(s.attn);
  proj_.resize(s.x);
  ffn_gate_.resize(s.ffn);
  ffn_up_.resize(s.ffn);
  router_.resize(s.router);
  chosen_.resize(s.chosen);
  chosen_weight_.resize(s.chosen);
  if (hp.is_moe()) {
    expert_in_.resize(s.x);
    expert_out_.resize(s.x);
    expert_row_.resize(layout.max_batch);
    expert_row_weight_.resize(layout.max_batch);
  }
  rope_cos_.resize(s.rope);
  rope_sin_.resize(s.rope);
  attention_ = kernels::AttentionScratch(attention_shape_of(hp), layout.max_batch, layout.threads);
  embd_in_ = kernels::PreparedInput(layout.max_batch, hp.n_embd);
  attn_in_ = kernels::PreparedInput(layout.max_batch, hp.attn_out_dim());
  ffn_in_ = kernels::PreparedInput(layout.max_batch, s.ffn_width);
}

kernels::KvLayer Sequence::kv_layer(int layer, const Hyperparams& hp) {
  const std::size_t rows = std::size_t{hp.n_head_kv} * n_ctx_;  // head rows per layer
  const auto l = static_cast<std::size_t>(layer);
  return {kv_type_,
          k_cache_.data() + l * rows * kernels::kv_row_bytes(kv_type_, hp.head_dim_k),
          v_cache_.data() + l * rows * kernels::kv_row_bytes(kv_type_, hp.head_dim_v),
          n_ctx_,
          hp.n_head_kv,
          hp.head_dim_k,
          hp.head_dim_v};
}

void Sequence::truncate(std::uint32_t n) {
  size_ = std::min(size_, n);
}

}  // namespace pensieve::model
