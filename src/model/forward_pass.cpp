#include "model/forward_pass.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/flash_attention.hpp"
#include "kernels/kv_cache.hpp"
#include "kernels/matmul.hpp"
#include "kernels/ops.hpp"
#include "kernels/parallel_ops.hpp"
#include "kernels/prepared_input.hpp"
#include "kernels/rope.hpp"

namespace pensieve::model {
namespace {

// gpt-oss's released config: swiglu_limit 7.0, and the sigmoid's slope in its gated unit.
constexpr float kGptOssSwigluLimit = 7.0f;
constexpr float kGptOssSwigluAlpha = 1.702f;

// Experts whose projections share a parallel region: two projections each, the most one takes.
constexpr std::size_t kExpertsPerGroup = kernels::kMaxProjections / 2;

// The k largest of n scores by repeated selection (k is small), ties to the lower index: their
// indices into ids, their scores into chosen.
void choose_top_k(const float* scores, std::size_t n, std::size_t k, std::uint32_t* ids, float* chosen) {
  for (std::size_t j = 0; j < k; ++j) {
    std::size_t best = n;
    for (std::size_t i = 0; i < n; ++i) {
      if (std::find(ids, ids + j, static_cast<std::uint32_t>(i)) != ids + j) continue;
      if (best == n || scores[i] > scores[best]) best = i;
    }
    ids[j] = static_cast<std::uint32_t>(best);
    chosen[j] = scores[best];
  }
}

}  // namespace

ForwardPass::ForwardPass(const Model& model, Workspace& workspace, const TensorObserver* observer)
    : hp_(model.hparams()),
      kernels_(model.kernels()),
      pool_(model.thread_pool()),
      w_(model.weights()),
      model_(model),
      ws_(workspace),
      observer_(observer != nullptr && *observer ? observer : nullptr) {}

void ForwardPass::project(const WeightMatrix& w, kernels::PreparedInput& in, float* out, std::size_t out_stride) {
  kernels::matmul(kernels_, pool_, w, in, out, out_stride);
}

void ForwardPass::observe(std::string_view name, int layer, const float* data, std::size_t rows,
                          std::size_t cols) const {
  if (observer_ != nullptr) (*observer_)(TensorView{name, layer, data, rows, cols});
}

void ForwardPass::run(std::span<const Segment> segments, std::span<const OutputRow> outputs) {
  std::size_t n = 0;
  for (const Segment& s : segments) {
    for (std::size_t t = 0; t < s.tokens.size(); ++t)
      ws_.positions_[n++] = s.sequence->size_ + static_cast<std::uint32_t>(t);
  }
  embed(segments, n);
  for (int layer = 0; layer < static_cast<int>(hp_.n_layer); ++layer) {
    attention_block(layer, segments, n);
    feed_forward_block(layer, n);
    observe("layer_out", layer, ws_.x_.data(), n, hp_.n_embd);
  }
  for (const Segment& s : segments) s.sequence->size_ += static_cast<std::uint32_t>(s.tokens.size());
  output_logits(outputs);
}

void ForwardPass::embed(std::span<const Segment> segments, std::size_t n) {
  const std::size_t e = hp_.n_embd;
  float* x = ws_.x_.data();
  // Gemma scales its (tied) embeddings by √n_embd on the way in.
  const float scale = hp_.gemma_block ? std::sqrt(static_cast<float>(e)) : 1.0f;
  for (const Segment& s : segments) {
    for (const std::int32_t token : s.tokens) {
      kernels::dequantize_row(w_.token_embd, static_cast<std::size_t>(token), x);
      if (scale != 1.0f) {
        for (std::size_t i = 0; i < e; ++i) x[i] *= scale;
      }
      x += e;
    }
  }
  observe("token_embd", -1, ws_.x_.data(), n, e);
}

void ForwardPass::attention_block(int layer, std::span<const Segment> segments, std::size_t n) {
  const LayerWeights& lw = w_.layers[static_cast<std::size_t>(layer)];
  const std::size_t e = hp_.n_embd;
  const std::size_t q_dim = hp_.q_dim();
  const std::size_t k_dim = hp_.k_dim();
  const std::size_t v_dim = hp_.v_dim();
  float* x = ws_.x_.data();    // (n, n_embd)
  float* xb = ws_.xb_.data();  // (n, n_embd)
  float* q = ws_.q_.data();    // (n, q_dim)
  float* k = ws_.k_.data();    // (n, k_dim) until written into the cache below
  float* v = ws_.v_.data();    // (n, v_dim)

  for (std::size_t t = 0; t < n; ++t)
    kernels::rms_norm(x + t * e, lw.attn_norm, e, hp_.rms_norm_eps, xb + t * e);
  observe("attn_norm", layer, xb, n, e);

  ws_.embd_in_.set(xb, e, n, e);
  const kernels::Projection qkv[] = {{&lw.wq, q, q_dim}, {&lw.wk, k, k_dim}, {&lw.wv, v, v_dim}};
  kernels::matmul(kernels_, pool_, qkv, ws_.embd_in_);
  for (std::size_t t = 0; t < n; ++t) {
    if (lw.bq != nullptr) kernels::add_in_place(q + t * q_dim, lw.bq, q_dim);
    if (lw.bk != nullptr) kernels::add_in_place(k + t * k_dim, lw.bk, k_dim);
    if (lw.bv != nullptr) kernels::add_in_place(v + t * v_dim, lw.bv, v_dim);
  }
  if (lw.q_norm != nullptr) {
    const std::size_t d = hp_.head_dim_k;
    for (std::size_t t = 0; t < n; ++t) {
      for (std::size_t h = 0; h < hp_.n_head; ++h) {
        float* head = q + t * q_dim + h * d;
        kernels::rms_norm(head, lw.q_norm, d, hp_.rms_norm_eps, head);
      }
      for (std::size_t h = 0; h < hp_.n_head_kv; ++h) {
        float* head = k + t * k_dim + h * d;
        kernels::rms_norm(head, lw.k_norm, d, hp_.rms_norm_eps, head);
      }
    }
  }

  const std::size_t half = hp_.n_rot / 2;
  // Each table's angles once per pass: every layer's, then the sliding-window layers' (Gemma 3).
  const kernels::RopeTable* tables[] = {&model_.rope(), model_.sliding_rope()};
  if (layer == 0) {
    for (std::size_t table = 0; table < 2 && tables[table] != nullptr; ++table) {
      const kernels::RopeTable& rope = *tables[table];
      float* cos = ws_.rope_cos_.data() + table * ws_.max_rows_ * half;
      float* sin = ws_.rope_sin_.data() + table * ws_.max_rows_ * half;
      for (std::size_t t = 0; t < n; ++t) {
        kernels::rope_angles(static_cast<double>(ws_.positions_[t]), rope, cos + t * half, sin + t * half);
      }
    }
  }
  const std::size_t table =
      tables[1] != nullptr && hp_.window_of(static_cast<std::uint32_t>(layer)) != 0 ? 1 : 0;
  const float* cos = ws_.rope_cos_.data() + table * ws_.max_rows_ * half;  // (n, n_rot / 2)
  const float* sin = ws_.rope_sin_.data() + table * ws_.max_rows_ * half;  // (n, n_rot / 2)
  for (std::size_t t = 0; t < n; ++t) {
    kernels::rope_apply(q + t * q_dim, hp_.n_head, hp_.head_dim_k, hp_.n_rot, hp_.rope_style, cos + t * half,
                        sin + t * half);
    kernels::rope_apply(k + t * k_dim, hp_.n_head_kv, hp_.head_dim_k, hp_.n_rot, hp_.rope_style,
                        cos + t * half, sin + t * half);
  }
  observe("q", layer, q, n, q_dim);
  observe("k", layer, k, n, k_dim);
  observe("v", layer, v, n, v_dim);

  // Each sequence's rows: into its cache in its element type (rounded or quantized here, once per
  // position), then attending over it.
  const kernels::AttentionShape shape{hp_.n_head, hp_.n_head_kv, hp_.head_dim_k, hp_.head_dim_v};
  float* attn = ws_.attn_.data();  // (n, attn_out_dim)
  const std::size_t attn_dim = hp_.attn_out_dim();
  std::size_t row = 0;
  for (const Segment& s : segments) {
    const std::size_t count = s.tokens.size();
    const std::size_t pos0 = s.sequence->size_;
    const kernels::KvLayer cache = s.sequence->kv_layer(layer);
    kernels::store_kv(cache, pos0, count, k + row * k_dim, k_dim, v + row * v_dim, v_dim);
    kernels::AttentionQueries queries;
    queries.q = q + row * q_dim;
    queries.q_stride = q_dim;
    queries.n = count;
    queries.pos0 = pos0;
    queries.window = hp_.window_of(static_cast<std::uint32_t>(layer));  // 0: every earlier position
    queries.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hp_.head_dim_k)));
    queries.sinks = lw.sinks;
    queries.out = attn + row * attn_dim;
    queries.out_stride = attn_dim;
    kernels::flash_attention(kernels_, pool_, shape, cache, queries, ws_.attention_);
    row += count;
  }
  observe("attn", layer, attn, n, attn_dim);

  float* proj = ws_.proj_.data();  // (n, n_embd)
  ws_.attn_in_.set(attn, attn_dim, n, attn_dim);
  project(lw.wo, ws_.attn_in_, proj, e);
  if (lw.bo != nullptr) {
    for (std::size_t t = 0; t < n; ++t) kernels::add_in_place(proj + t * e, lw.bo, e);
  }
  if (lw.attn_post_norm != nullptr) {
    for (std::size_t t = 0; t < n; ++t)
      kernels::rms_norm(proj + t * e, lw.attn_post_norm, e, hp_.rms_norm_eps, proj + t * e);
  }
  observe("attn_out", layer, proj, n, e);
  kernels::add_in_place(x, proj, n * e);
}

void ForwardPass::feed_forward_block(int layer, std::size_t n) {
  const LayerWeights& lw = w_.layers[static_cast<std::size_t>(layer)];
  const std::size_t e = hp_.n_embd;
  float* x = ws_.x_.data();    // (n, n_embd)
  float* xb = ws_.xb_.data();  // (n, n_embd)
  for (std::size_t t = 0; t < n; ++t)
    kernels::rms_norm(x + t * e, lw.ffn_norm, e, hp_.rms_norm_eps, xb + t * e);
  observe("ffn_norm", layer, xb, n, e);
  if (hp_.is_moe()) {
    expert_feed_forward(layer, lw, n);
  } else {
    dense_feed_forward(lw, n);
  }
  if (lw.ffn_post_norm != nullptr) {
    float* out = ws_.proj_.data();
    for (std::size_t t = 0; t < n; ++t)
      kernels::rms_norm(out + t * e, lw.ffn_post_norm, e, hp_.rms_norm_eps, out + t * e);
  }
  observe("ffn_out", layer, ws_.proj_.data(), n, e);
  kernels::add_in_place(x, ws_.proj_.data(), n * e);
}

void ForwardPass::dense_feed_forward(const LayerWeights& lw, std::size_t n) {
  const std::size_t e = hp_.n_embd;
  const std::size_t f = hp_.n_ff;
  float* gate = ws_.ffn_gate_.data();  // (n, n_ff)
  float* up = ws_.ffn_up_.data();      // (n, n_ff)
  ws_.embd_in_.set(ws_.xb_.data(), e, n, e);
  const kernels::Projection gate_up[] = {{&lw.ffn_gate, gate, f}, {&lw.ffn_up, up, f}};
  kernels::matmul(kernels_, pool_, gate_up, ws_.embd_in_);
  if (hp_.gemma_block) {
    kernels::geglu_tanh(gate, up, n * f, gate);
  } else {
    kernels::swiglu(kernels_, pool_, gate, up, n * f, gate);
  }
  ws_.ffn_in_.set(gate, f, n, f);
  project(lw.ffn_down, ws_.ffn_in_, ws_.proj_.data(), e);
}

void ForwardPass::route_to_experts(int layer, const LayerWeights& lw, std::size_t n) {
  const std::size_t n_expert = hp_.n_expert;
  const std::size_t k = hp_.n_expert_used;
  float* probs = ws_.router_.data();  // (n, n_expert)
  ws_.embd_in_.set(ws_.xb_.data(), hp_.n_embd, n, hp_.n_embd);
  project(lw.router, ws_.embd_in_, probs, n_expert);
  if (lw.router_bias != nullptr) return route_by_biased_logits(layer, lw, n);
  for (std::size_t t = 0; t < n; ++t) {
    float* p = probs + t * n_expert;
    kernels::softmax_in_place(p, n_expert);
    float* weights = ws_.chosen_weight_.data() + t * k;
    choose_top_k(p, n_expert, k, ws_.chosen_.data() + t * k, weights);
    double sum = 0.0;
    for (std::size_t j = 0; j < k; ++j) sum += weights[j];
    for (std::size_t j = 0; j < k; ++j) weights[j] = static_cast<float>(weights[j] / sum);
  }
  observe("ffn_moe_probs", layer, probs, n, n_expert);
}

// gpt-oss: the top k of the biased router logits, weighted by a softmax over those k alone.
void ForwardPass::route_by_biased_logits(int layer, const LayerWeights& lw, std::size_t n) {
  const std::size_t n_expert = hp_.n_expert;
  const std::size_t k = hp_.n_expert_used;
  float* logits = ws_.router_.data();  // (n, n_expert)
  for (std::size_t t = 0; t < n; ++t) {
    float* l = logits + t * n_expert;
    kernels::add_in_place(l, lw.router_bias, n_expert);
    float* weights = ws_.chosen_weight_.data() + t * k;
    choose_top_k(l, n_expert, k, ws_.chosen_.data() + t * k, weights);
    kernels::softmax_in_place(weights, k);
  }
  observe("ffn_moe_logits", layer, logits, n, n_expert);
}

// The experts a pass uses, in order, in groups whose routed rows fit the workspace together: each
// group's gate and up projections run in one parallel region and its down projections in another,
// where one expert at a time took three regions and a barrier after each. A decoded token's eight
// experts are one group. The sum over experts runs in expert order whatever the grouping, and a
// row's matmul results do not depend on the rows beside it, so a token gets the same bits alone or
// in any batch.
void ForwardPass::expert_feed_forward(int layer, const LayerWeights& lw, std::size_t n) {
  const std::size_t e = hp_.n_embd;
  const std::size_t k = hp_.n_expert_used;
  route_to_experts(layer, lw, n);
  sort_by_expert(n);
  float* out = ws_.proj_.data();  // (n, n_embd) weighted sum of the chosen experts' outputs
  std::fill(out, out + n * e, 0.0f);
  float* in = ws_.expert_in_.data();  // (rows, n_embd) each group expert's rows, one after another
  const std::uint32_t* first = ws_.expert_first_.data();
  ExpertRows group[kExpertsPerGroup];
  std::size_t experts = 0, rows = 0;
  for (std::uint32_t ex = 0; ex < hp_.n_expert; ++ex) {
    const std::size_t m = first[ex + 1] - first[ex];
    if (m == 0) continue;
    if (experts == kExpertsPerGroup || rows + m > ws_.max_rows_) {
      run_experts(lw, std::span(group, experts), rows);
      experts = rows = 0;
    }
    group[experts++] = {ex, rows, m};
    for (std::uint32_t i = first[ex]; i < first[ex + 1]; ++i, ++rows) {
      const std::uint32_t slot = ws_.expert_slots_[i];
      const std::size_t t = slot / k;
      std::copy_n(ws_.xb_.data() + t * e, e, in + rows * e);
      ws_.expert_row_[rows] = static_cast<std::uint32_t>(t);
      ws_.expert_row_weight_[rows] = ws_.chosen_weight_[slot];
    }
  }
  if (experts > 0) run_experts(lw, std::span(group, experts), rows);
}

// A counting sort of the routing slots (t · k + j) by expert, tokens in order within each:
// expert ex's slots are expert_slots[expert_first[ex] .. expert_first[ex + 1]).
void ForwardPass::sort_by_expert(std::size_t n) {
  const std::size_t slots = n * hp_.n_expert_used;
  std::uint32_t* first = ws_.expert_first_.data();  // n_expert + 1
  std::fill(first, first + hp_.n_expert + 1, 0u);
  for (std::size_t i = 0; i < slots; ++i) ++first[ws_.chosen_[i] + 1];
  for (std::size_t ex = 0; ex < hp_.n_expert; ++ex) first[ex + 1] += first[ex];
  // Placing advances each expert's start to its end, which is the next expert's start.
  for (std::size_t i = 0; i < slots; ++i)
    ws_.expert_slots_[first[ws_.chosen_[i]]++] = static_cast<std::uint32_t>(i);
  for (std::size_t ex = hp_.n_expert; ex > 0; --ex) first[ex] = first[ex - 1];
  first[0] = 0;
}

void ForwardPass::run_experts(const LayerWeights& lw, std::span<const ExpertRows> group, std::size_t rows) {
  const std::size_t e = hp_.n_embd;
  const std::size_t f = hp_.n_ff_expert;
  float* gate = ws_.ffn_gate_.data();          // (rows, n_ff_expert)
  float* up = ws_.ffn_up_.data();              // (rows, n_ff_expert)
  float* expert_out = ws_.expert_out_.data();  // (rows, n_embd)
  WeightMatrix gates[kExpertsPerGroup], ups[kExpertsPerGroup], downs[kExpertsPerGroup];
  kernels::ProjectionOfRows projections[2 * kExpertsPerGroup];

  ws_.embd_in_.set(ws_.expert_in_.data(), e, rows, e);
  const kernels::Activations& x_gate =
      ws_.embd_in_.in(kernels_.activation_for(lw.gate_exps.type), kernels_, pool_);
  const kernels::Activations& x_up =
      ws_.embd_in_.in(kernels_.activation_for(lw.up_exps.type), kernels_, pool_);
  for (std::size_t g = 0; g < group.size(); ++g) {
    const ExpertRows& r = group[g];
    gates[g] = lw.gate_exps.slice_rows(r.expert * f, f);
    ups[g] = lw.up_exps.slice_rows(r.expert * f, f);
    projections[2 * g] = {&gates[g], kernels::rows_of(x_gate, r.first, r.rows), gate + r.first * f, f};
    projections[2 * g + 1] = {&ups[g], kernels::rows_of(x_up, r.first, r.rows), up + r.first * f, f};
  }
  kernels::matmul(kernels_, pool_, std::span(projections, 2 * group.size()));
  if (lw.gate_exps_bias != nullptr) {  // gpt-oss: biased experts and a clamped gate
    for (const ExpertRows& r : group) {
      for (std::size_t i = r.first; i < r.first + r.rows; ++i) {
        kernels::add_in_place(gate + i * f, lw.gate_exps_bias + r.expert * f, f);
        kernels::add_in_place(up + i * f, lw.up_exps_bias + r.expert * f, f);
      }
    }
    kernels::swiglu_clamped(gate, up, rows * f, kGptOssSwigluLimit, kGptOssSwigluAlpha, gate);
  } else {
    kernels::swiglu(kernels_, pool_, gate, up, rows * f, gate);
  }

  ws_.ffn_in_.set(gate, f, rows, f);
  const kernels::Activations& x_down =
      ws_.ffn_in_.in(kernels_.activation_for(lw.down_exps.type), kernels_, pool_);
  for (std::size_t g = 0; g < group.size(); ++g) {
    const ExpertRows& r = group[g];
    downs[g] = lw.down_exps.slice_rows(r.expert * e, e);
    projections[g] = {&downs[g], kernels::rows_of(x_down, r.first, r.rows), expert_out + r.first * e, e};
  }
  kernels::matmul(kernels_, pool_, std::span(projections, group.size()));
  if (lw.down_exps_bias != nullptr) {
    for (const ExpertRows& r : group) {
      for (std::size_t i = r.first; i < r.first + r.rows; ++i)
        kernels::add_in_place(expert_out + i * e, lw.down_exps_bias + r.expert * e, e);
    }
  }
  float* out = ws_.proj_.data();
  for (std::size_t i = 0; i < rows; ++i) {
    kernels::add_scaled_in_place(out + ws_.expert_row_[i] * e, expert_out + i * e, ws_.expert_row_weight_[i],
                                 e);
  }
}

void ForwardPass::output_logits(std::span<const OutputRow> outputs) {
  // Rows whose logits go to consecutive places are normed into consecutive rows of xb and
  // projected together, so the output matrix is read once per group rather than once per row.
  const std::size_t e = hp_.n_embd;
  const std::size_t vocab = hp_.n_vocab;
  for (std::size_t i = 0; i < outputs.size();) {
    std::size_t count = 1;
    while (i + count < outputs.size() && count < ws_.max_rows_ &&
           outputs[i + count].logits == outputs[i].logits + count * vocab) {
      ++count;
    }
    float* xb = ws_.xb_.data();  // (count, n_embd)
    for (std::size_t j = 0; j < count; ++j)
      kernels::rms_norm(ws_.x_.data() + outputs[i + j].row * e, w_.output_norm, e, hp_.rms_norm_eps,
                        xb + j * e);
    observe("result_norm", -1, xb, count, e);
    ws_.embd_in_.set(xb, e, count, e);
    project(w_.output, ws_.embd_in_, outputs[i].logits, vocab);
    observe("result_output", -1, outputs[i].logits, count, vocab);
    i += count;
  }
}

}  // namespace pensieve::model
