#include "model/workspace.hpp"

#include <algorithm>

#include "kernels/scratch.hpp"

namespace pensieve::model {
namespace {

struct Sizes {
  std::size_t x, q, k, v, attn, ffn, ffn_width, router, chosen, rope, attention;
};

kernels::AttentionShape attention_shape_of(const Hyperparams& hp) {
  return {hp.n_head, hp.n_head_kv, hp.head_dim_k, hp.head_dim_v};
}

Sizes sizes_of(const Hyperparams& hp, std::uint32_t max_rows, unsigned threads) {
  const std::size_t b = max_rows;
  const std::size_t ffn_width = std::max(hp.n_ff, hp.n_ff_expert);
  Sizes s{};
  s.x = b * hp.n_embd;
  s.q = b * hp.q_dim();
  s.k = b * hp.k_dim();
  s.v = b * hp.v_dim();
  s.attn = b * hp.attn_out_dim();
  s.ffn = b * ffn_width;
  s.ffn_width = ffn_width;
  s.router = b * hp.n_expert;
  s.chosen = b * hp.n_expert_used;
  // One table's angles, or two where sliding-window layers rotate apart (Gemma 3).
  s.rope = b * (hp.n_rot / 2) * (hp.rope_freq_base_sliding != 0.0 ? 2 : 1);
  s.attention = kernels::AttentionScratch::floats_needed(attention_shape_of(hp), b, threads);
  return s;
}

}  // namespace

WorkspaceLayout WorkspaceLayout::plan(const Hyperparams& hp, std::uint32_t max_rows, unsigned threads) {
  const Sizes s = sizes_of(hp, max_rows, threads);
  WorkspaceLayout layout;
  layout.max_rows = max_rows;
  layout.threads = threads;
  // Rows in and out, their batch rows and weights, the routing slots sorted by expert.
  const std::size_t expert_rows =
      hp.is_moe() ? 2 * s.x + 2 * std::size_t{max_rows} + s.chosen + hp.n_expert + 1 : 0;
  // positions; x, xb, proj; q, k, v; attn; gate, up; router; chosen ids + weights; expert
  // buffers; cos, sin; attention tiles.
  layout.scratch_floats = max_rows + 3 * s.x + s.q + s.k + s.v + s.attn + 2 * s.ffn + s.router +
                          2 * s.chosen + expert_rows + 2 * s.rope + s.attention;
  layout.prepared_bytes = kernels::PreparedInput::bytes_needed(max_rows, hp.n_embd) +
                          kernels::PreparedInput::bytes_needed(max_rows, hp.attn_out_dim()) +
                          kernels::PreparedInput::bytes_needed(max_rows, s.ffn_width);
  // Every matmul input is one of those three.
  const std::size_t widest_input =
      std::max({std::size_t{hp.n_embd}, std::size_t{hp.attn_out_dim()}, s.ffn_width});
  layout.kernel_bytes = threads * kernels::matmul_scratch_bytes(max_rows, widest_input);
  return layout;
}

Workspace::Workspace(const Model& model, const Hyperparams& hp, const WorkspaceLayout& layout)
    : model_(&model), max_rows_(layout.max_rows) {
  const Sizes s = sizes_of(hp, layout.max_rows, layout.threads);
  positions_.resize(layout.max_rows);
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
    expert_first_.resize(hp.n_expert + 1);
    expert_slots_.resize(s.chosen);
    expert_in_.resize(s.x);
    expert_out_.resize(s.x);
    expert_row_.resize(layout.max_rows);
    expert_row_weight_.resize(layout.max_rows);
  }
  rope_cos_.resize(s.rope);
  rope_sin_.resize(s.rope);
  attention_ = kernels::AttentionScratch(attention_shape_of(hp), layout.max_rows, layout.threads);
  embd_in_ = kernels::PreparedInput(layout.max_rows, hp.n_embd);
  attn_in_ = kernels::PreparedInput(layout.max_rows, hp.attn_out_dim());
  ffn_in_ = kernels::PreparedInput(layout.max_rows, s.ffn_width);
}

}  // namespace pensieve::model
