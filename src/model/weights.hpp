// model/weights: every tensor a forward pass reads, bound to its bytes in the mapped file after
// its name, shape and type were checked against the hyperparameters. Fused tensors (phi3's
// attn_qkv and gate+up) and stacked experts become row slices here, so the forward code sees
// one layout for every family.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/result.hpp"
#include "gguf/reader.hpp"
#include "kernels/matmul.hpp"
#include "model/hyperparams.hpp"
#include "model/weight_copies.hpp"

namespace pensieve::model {

using kernels::WeightMatrix;

struct LayerWeights {
  const float* attn_norm = nullptr;  // (n_embd)
  WeightMatrix wq;                   // (q_dim rows, n_embd)
  WeightMatrix wk;                   // (k_dim rows, n_embd)
  WeightMatrix wv;                   // (v_dim rows, n_embd)
  const float* bq = nullptr;         // (q_dim), qwen2 only
  const float* bk = nullptr;         // (k_dim)
  const float* bv = nullptr;         // (v_dim)
  const float* q_norm = nullptr;     // (head_dim_k), per-head RMSNorm weights, qwen3 family
  const float* k_norm = nullptr;     // (head_dim_k)
  WeightMatrix wo;                   // (n_embd rows, attn_out_dim)
  const float* bo = nullptr;         // (n_embd), gpt-oss
  const float* sinks = nullptr;      // (n_head) logits joining each softmax's denominator, gpt-oss

  const float* attn_post_norm = nullptr;  // (n_embd), Gemma 3: on the attention's output
  const float* ffn_norm = nullptr;        // (n_embd)
  const float* ffn_post_norm = nullptr;   // (n_embd), Gemma 3: on the feed-forward's output
  // Dense feed-forward.
  WeightMatrix ffn_gate;  // (n_ff rows, n_embd)
  WeightMatrix ffn_up;    // (n_ff rows, n_embd)
  WeightMatrix ffn_down;  // (n_embd rows, n_ff)
  // Mixture of experts: expert e owns rows [e·R, (e+1)·R) of each stack.
  WeightMatrix router;     // (n_expert rows, n_embd)
  WeightMatrix gate_exps;  // (n_expert · n_ff_expert rows, n_embd)
  WeightMatrix up_exps;    // (n_expert · n_ff_expert rows, n_embd)
  WeightMatrix down_exps;  // (n_expert · n_embd rows, n_ff_expert)
  // Biases (gpt-oss): of the router logits, and of each expert's rows, expert e's at e·R.
  const float* router_bias = nullptr;     // (n_expert)
  const float* gate_exps_bias = nullptr;  // (n_expert · n_ff_expert)
  const float* up_exps_bias = nullptr;    // (n_expert · n_ff_expert)
  const float* down_exps_bias = nullptr;  // (n_expert · n_embd)
};

struct Weights {
  WeightMatrix token_embd;             // (n_vocab rows, n_embd)
  const float* output_norm = nullptr;  // (n_embd)
  WeightMatrix output;                 // (n_vocab rows, n_embd); token_embd when tied
  const float* rope_freqs = nullptr;   // (n_rot / 2) frequency divisors, Llama 3 style; optional
  std::vector<LayerWeights> layers;
  // Sum of the bound tensors' stored sizes. A copy takes as much memory, give or take a repacked
  // matrix's last panel's padding rows and a little slack (kernels/panel_layout.hpp).
  std::uint64_t bytes = 0;
  std::vector<core::AnonymousMemory> copy_storage;  // what the load-time copies live in
};

// With `copies`, the weights a forward pass streams are copied (repacked where its kernels read a
// repacked layout) as they are bound (model/weight_copies.hpp). With `progress`, told after each tensor the
// bytes bound so far and the tensor data of the whole file (then once with both equal at the end).
using BindProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;
Result<Weights> bind_weights(const gguf::Contents& contents, const Hyperparams& hp,
                             WeightCopies* copies = nullptr, const BindProgress& progress = nullptr);

}  // namespace pensieve::model
