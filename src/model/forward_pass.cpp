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

ForwardPass::ForwardPass(const Model& model, Sequence& seq)
    : hp_(model.hparams()),
      kernels_(model.kernels()),
      pool_(model.thread_pool()),
      w_(model.weights()),
      seq_(seq) {}

void ForwardPass::project(const WeightMatrix& w, kernels::PreparedInput& in, float* out, std::size_t out_stride) {
  kernels::matmul(kernels_, pool_, w, in, out, out_stride);
}

void ForwardPass::observe(std::string_view name, int layer, const float* data, std::size_t rows,
                          std::size_t cols) const {
  if (seq_.observer_) seq_.observer_(TensorView{name, layer, data, rows, cols});
}

void ForwardPass::run_chunk(std::span<const std::int32_t> tokens, std::uint32_t first_row,
                            std::span<const std::uint32_t> logit_rows, std::span<float> logits) {
  const std::size_t n = tokens.size();
  pos0_ = seq_.size_;
  embed(tokens);
  for (int layer = 0; layer < static_cast<int>(hp_.n_layer); ++layer) {
    attention_block(layer, n);
    feed_forward_block(layer, n);
    observe("layer_out", layer, seq_.x_.data(), n, hp_.n_embd);
  }
  seq_.size_ += static_cast<std::uint32_t>(n);

  // Requested rows are computed in runs that are consecutive both in the chunk and in `logits`
  // (all rows, or just the last, are one run), so each run reads the output matrix once.
  const std::size_t vocab = hp_.n_vocab;
  for (std::size_t i = 0; i < logit_rows.size();) {
    const std::uint32_t row = logit_rows[i];
    if (row < first_row || row >= first_row + n) {
      ++i;
      continue;
    }
    std::size_t run = 1;
    while (i + run < logit_rows.size() && logit_rows[i + run] == row + run && row + run < first_row + n)
      ++run;
    output_logits(row - first_row, run, logits.data() + i * vocab);
    i += run;
  }
}

void ForwardPass::embed(std::span<const std::int32_t> tokens) {
  const std::size_t e = hp_.n_embd;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    kernels::dequantize_row(w_.token_embd, static_cast<std::size_t>(tokens[t]), seq_.x_.data() + t * e);
  }
  observe("token_embd", -1, seq_.x_.data(), tokens.size(), e);
}

void ForwardPass::attention_block(int layer, std::size_t n) {
  const LayerWeights& lw = w_.layers[static_cast<std::size_t>(layer)];
  const std::size_t e = hp_.n_embd;
  const std::size_t q_dim = hp_.q_dim();
  const std::size_t k_dim = hp_.k_dim();
  const std::size_t v_dim = hp_.v_dim();
  float* x = seq_.x_.data();    // (n, n_embd)
  float* xb = seq_.xb_.data();  // (n, n_embd)
  float* q = seq_.q_.data();    // (n, q_dim)
  float* k = seq_.k_.data();    // (n, k_dim) until written into the cache below
  float* v = seq_.v_.data();    // (n, v_dim)

  for (std::size_t t = 0; t < n; ++t)
    kernels::rms_norm(x + t * e, lw.attn_norm, e, hp_.rms_norm_eps, xb + t * e);
  observe("attn_norm", layer, xb, n, e);

  seq_.embd_in_.set(xb, e, n, e);
  const kernels::Projection qkv[] = {{&lw.wq, q, q_dim}, {&lw.wk, k, k_dim}, {&lw.wv, v, v_dim}};
  kernels::matmul(kernels_, pool_, qkv, seq_.embd_in_);
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
  float* cos = seq_.rope_cos_.data();  // (n, n_rot / 2)
  float* sin = seq_.rope_sin_.data();  // (n, n_rot / 2)
  if (layer == 0) {
    const double scale = hp_.rope_scaling == RopeScaling::kLinear ? 1.0 / hp_.rope_scaling_factor : 1.0;
    for (std::size_t t = 0; t < n; ++t) {
      const double position = static_cast<double>(pos0_ + t) * scale;
      kernels::rope_angles(position, hp_.rope_freq_base, hp_.n_rot, w_.rope_freqs, cos + t * half,
                           sin + t * half);
    }
  }
  for (std::size_t t = 0; t < n; ++t) {
    kernels::rope_apply(q + t * q_dim, hp_.n_head, hp_.head_dim_k, hp_.n_rot, hp_.rope_style, cos + t * half,
                        sin + t * half);
    kernels::rope_apply(k + t * k_dim, hp_.n_head_kv, hp_.head_dim_k, hp_.n_rot, hp_.rope_style,
                        cos + t * half, sin + t * half);
  }
  observe("q", layer, q, n, q_dim);
  observe("k", layer, k, n, k_dim);
  observe("v", layer, v, n, v_dim);

  // Into the cache in its element type (rounded or quantized here, once per position).
  const kernels::KvLayer cache = seq_.kv_layer(layer, hp_);
  kernels::store_kv(cache, pos0_, n, k, k_dim, v, v_dim);

  const kernels::AttentionShape shape{hp_.n_head, hp_.n_head_kv, hp_.head_dim_k, hp_.head_dim_v};
  float* attn = seq_.attn_.data();  // (n, attn_out_dim)
  const std::size_t attn_dim = hp_.attn_out_dim();
  kernels::AttentionQueries queries;
  queries.q = q;
  queries.q_stride = q_dim;
  queries.n = n;
  queries.pos0 = pos0_;
  queries.window = hp_.sliding_window;  // 0: every earlier position
  queries.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hp_.head_dim_k)));
  queries.out = attn;
  queries.out_stride = attn_dim;
  kernels::flash_attention(kernels_, pool_, shape, cache, queries, seq_.attention_);
  observe("attn", layer, attn, n, attn_dim);

  float* proj = seq_.proj_.data();  // (n, n_embd)
  seq_.attn_in_.set(attn, attn_dim, n, attn_dim);
  project(lw.wo, seq_.attn_in_, proj, e);
  observe("attn_out", layer, proj, n, e);
  kernels::add_in_place(x, proj, n * e);
}

void ForwardPass::feed_forward_block(int layer, std::size_t n) {
  const LayerWeights& lw = w_.layers[static_cast<std::size_t>(layer)];
  const std::size_t e = hp_.n_embd;
  float* x = seq_.x_.data();    // (n, n_embd)
  float* xb = seq_.xb_.data();  // (n, n_embd)
  for (std::size_t t = 0; t < n; ++t)
    kernels::rms_norm(x + t * e, lw.ffn_norm, e, hp_.rms_norm_eps, xb + t * e);
  observe("ffn_norm", layer, xb, n, e);
  if (hp_.is_moe()) {
    expert_feed_forward(layer, lw, n);
  } else {
    dense_feed_forward(lw, n);
  }
  observe("ffn_out", layer, seq_.proj_.data(), n, e);
  kernels::add_in_place(x, seq_.proj_.data(), n * e);
}

void ForwardPass::dense_feed_forward(const LayerWeights& lw, std::size_t n) {
  const std::size_t e = hp_.n_embd;
  const std::size_t f = hp_.n_ff;
  float* gate = seq_.ffn_gate_.data();  // (n, n_ff)
  float* up = seq_.ffn_up_.data();      // (n, n_ff)
  seq_.embd_in_.set(seq_.xb_.data(), e, n, e);
  const kernels::Projection gate_up[] = {{&lw.ffn_gate, gate, f}, {&lw.ffn_up, up, f}};
  kernels::matmul(kernels_, pool_, gate_up, seq_.embd_in_);
  kernels::swiglu(kernels_, pool_, gate, up, n * f, gate);
  seq_.ffn_in_.set(gate, f, n, f);
  project(lw.ffn_down, seq_.ffn_in_, seq_.proj_.data(), e);
}

void ForwardPass::route_to_experts(int layer, const LayerWeights& lw, std::size_t n) {
  const std::size_t n_expert = hp_.n_expert;
  const std::size_t k = hp_.n_expert_used;
  float* probs = seq_.router_.data();  // (n, n_expert)
  seq_.embd_in_.set(seq_.xb_.data(), hp_.n_embd, n, hp_.n_embd);
  project(lw.router, seq_.embd_in_, probs, n_expert);
  for (std::size_t t = 0; t < n; ++t) {
    float* p = probs + t * n_expert;
    kernels::softmax_in_place(p, n_expert);
    std::uint32_t* ids = seq_.chosen_.data() + t * k;
    float* weights = seq_.chosen_weight_.data() + t * k;
    // Top-k by repeated selection (k is small); ties go to the lower expert index.
    double sum = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      std::size_t best = n_expert;
      for (std::size_t i = 0; i < n_expert; ++i) {
        if (std::find(ids, ids + j, static_cast<std::uint32_t>(i)) != ids + j) continue;
        if (best == n_expert || p[i] > p[best]) best = i;
      }
      ids[j] = static_cast<std::uint32_t>(best);
      weights[j] = p[best];
      sum += p[best];
    }
    for (std::size_t j = 0; j < k; ++j) weights[j] = static_cast<float>(weights[j] / sum);
  }
  observe("ffn_moe_probs", layer, probs, n, n_expert);
}

void ForwardPass::expert_feed_forward(int layer, const LayerWeights& lw, std::size_t n) {
  const std::size_t e = hp_.n_embd;
  const std::size_t f = hp_.n_ff_expert;
  const std::size_t k = hp_.n_expert_used;
  route_to_experts(layer, lw, n);
  float* out = seq_.proj_.data();  // (n, n_embd) weighted sum of the chosen experts' outputs
  std::fill(out, out + n * e, 0.0f);
  float* in = seq_.expert_in_.data();           // (m, n_embd) rows routed to expert `ex`
  float* gate = seq_.ffn_gate_.data();          // (m, n_ff_expert)
  float* up = seq_.ffn_up_.data();              // (m, n_ff_expert)
  float* expert_out = seq_.expert_out_.data();  // (m, n_embd)
  // Expert by expert, so each expert's weights are read once for all the tokens that chose it.
  for (std::uint32_t ex = 0; ex < hp_.n_expert; ++ex) {
    std::size_t m = 0;
    for (std::size_t t = 0; t < n; ++t) {
      for (std::size_t j = 0; j < k; ++j) {
        if (seq_.chosen_[t * k + j] != ex) continue;
        std::copy_n(seq_.xb_.data() + t * e, e, in + m * e);
        seq_.expert_row_[m] = static_cast<std::uint32_t>(t);
        seq_.expert_row_weight_[m] = seq_.chosen_weight_[t * k + j];
        ++m;
      }
    }
    if (m == 0) continue;
    seq_.embd_in_.set(in, e, m, e);
    project(lw.gate_exps.slice_rows(ex * f, f), seq_.embd_in_, gate, f);
    project(lw.up_exps.slice_rows(ex * f, f), seq_.embd_in_, up, f);
    kernels::swiglu(kernels_, pool_, gate, up, m * f, gate);
    seq_.ffn_in_.set(gate, f, m, f);
    project(lw.down_exps.slice_rows(ex * e, e), seq_.ffn_in_, expert_out, e);
    for (std::size_t i = 0; i < m; ++i) {
      kernels::add_scaled_in_place(out + seq_.expert_row_[i] * e, expert_out + i * e,
                                   seq_.expert_row_weight_[i], e);
    }
  }
}

void ForwardPass::output_logits(std::size_t first_token, std::size_t count, float* out) {
  const std::size_t e = hp_.n_embd;
  float* x = seq_.x_.data() + first_token * e;    // (count, n_embd)
  float* xb = seq_.xb_.data() + first_token * e;  // (count, n_embd)
  for (std::size_t t = 0; t < count; ++t)
    kernels::rms_norm(x + t * e, w_.output_norm, e, hp_.rms_norm_eps, xb + t * e);
  observe("result_norm", -1, xb, count, e);
  seq_.embd_in_.set(xb, e, count, e);
  project(w_.output, seq_.embd_in_, out, hp_.n_vocab);
  observe("result_output", -1, out, count, hp_.n_vocab);
}

}  // namespace pensieve::model
