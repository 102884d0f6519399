#include "model/sequence.hpp"

#include <algorithm>

namespace pensieve::model {
namespace {

struct Sizes {
  std::size_t k_cache, v_cache, x, q, attn, ffn, ffn_width, router, chosen, rope, scores;
};

Sizes sizes_of(const Hyperparams& hp, std::uint32_t n_ctx, std::uint32_t max_batch) {
  const std::size_t b = max_batch;
  const std::size_t ffn_width = std::max(hp.n_ff, hp.n_ff_expert);
  Sizes s{};
  s.k_cache = std::size_t{hp.n_layer} * n_ctx * hp.k_dim();
  s.v_cache = std::size_t{hp.n_layer} * n_ctx * hp.v_dim();
  s.x = b * hp.n_embd;
  s.q = b * hp.q_dim();
  s.attn = b * hp.attn_out_dim();
  s.ffn = b * ffn_width;
  s.ffn_width = ffn_width;
  s.router = b * hp.n_expert;
  s.chosen = b * hp.n_expert_used;
  s.rope = b * (hp.n_rot / 2);
  s.scores = n_ctx;
  return s;
}

}  // namespace

SequenceLayout SequenceLayout::plan(const Hyperparams& hp, std::uint32_t n_ctx, std::uint32_t max_batch) {
  const Sizes s = sizes_of(hp, n_ctx, max_batch);
  SequenceLayout layout;
  layout.n_ctx = n_ctx;
  layout.max_batch = max_batch;
  layout.kv_floats = s.k_cache + s.v_cache;
  const std::size_t expert_rows = hp.is_moe() ? 2 * s.x + 2 * std::size_t{max_batch} : 0;
  // x, xb, proj; q; attn; gate, up; router; chosen ids + weights; expert buffers; cos, sin; scores.
  layout.scratch_floats = 3 * s.x + s.q + s.attn + 2 * s.ffn + s.router + 2 * s.chosen + expert_rows +
                          2 * s.rope + s.scores;
  layout.prepared_bytes = kernels::PreparedInput::bytes_needed(max_batch, hp.n_embd) +
                          kernels::PreparedInput::bytes_needed(max_batch, hp.attn_out_dim()) +
                          kernels::PreparedInput::bytes_needed(max_batch, s.ffn_width);
  return layout;
}

Sequence::Sequence(const Model& model, const Hyperparams& hp, const SequenceLayout& layout)
    : model_(&model), n_ctx_(layout.n_ctx), max_batch_(layout.max_batch) {
  const Sizes s = sizes_of(hp, layout.n_ctx, layout.max_batch);
  k_cache_.resize(s.k_cache);
  v_cache_.resize(s.v_cache);
  x_.resize(s.x);
  xb_.resize(s.x);
  q_.resize(s.q);
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
  scores_.resize(s.scores);
  embd_in_ = kernels::PreparedInput(layout.max_batch, hp.n_embd);
  attn_in_ = kernels::PreparedInput(layout.max_batch, hp.attn_out_dim());
  ffn_in_ = kernels::PreparedInput(layout.max_batch, s.ffn_width);
}

void Sequence::truncate(std::uint32_t n) {
  size_ = std::min(size_, n);
}

}  // namespace pensieve::model
