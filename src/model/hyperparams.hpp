// model/hyperparams: the shape of a model, read from GGUF metadata (`<arch>.…` keys) and checked
// for consistency before any weight is bound, so a bad file fails with the key it got wrong.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"
#include "gguf/reader.hpp"
#include "kernels/rope.hpp"
#include "model/architecture.hpp"

namespace pensieve::model {

enum class RopeScaling {
  kNone,
  kLinear,  // positions divided by rope_scaling_factor
  kYarn,    // frequencies blended by YaRN (kernels::yarn_rope) over yarn.original_context
};

struct Hyperparams {
  Architecture architecture = Architecture::kLlama;
  std::string architecture_name;

  std::uint32_t n_vocab = 0;  // rows of token_embd.weight
  std::uint32_t n_embd = 0;   // width of the residual stream
  std::uint32_t n_layer = 0;
  std::uint32_t n_head = 0;
  std::uint32_t n_head_kv = 0;    // divides n_head (grouped-query attention)
  std::uint32_t head_dim_k = 0;   // attention.key_length, default n_embd / n_head
  std::uint32_t head_dim_v = 0;   // attention.value_length, default n_embd / n_head
  std::uint32_t n_ff = 0;         // dense feed-forward width (0 for mixture-of-experts models)
  std::uint32_t n_ctx_train = 0;  // context_length; 0 when the file does not say

  std::uint32_t n_rot = 0;  // rotated dims per head (rope.dimension_count), even, ≤ head_dim_k
  double rope_freq_base = 10000.0;
  kernels::RopeStyle rope_style = kernels::RopeStyle::kNormal;
  RopeScaling rope_scaling = RopeScaling::kNone;
  double rope_scaling_factor = 1.0;
  kernels::YarnParams yarn;  // for kYarn (yarn.factor is rope_scaling_factor)
  // Gemma 3: layers within a sliding window rotate with this base and no scaling (0: as the others).
  double rope_freq_base_sliding = 0.0;

  float rms_norm_eps = 1e-5f;
  std::uint32_t sliding_window = 0;  // 0: every earlier position is visible
  std::uint32_t sliding_period = 0;  // ArchitectureInfo::sliding_period

  // Gemma 3's block: embeddings scaled by √n_embd, norms after attention and feed-forward as well
  // as before, and GELU (tanh form) gating the feed-forward instead of SiLU.
  bool gemma_block = false;

  std::uint32_t n_expert = 0;  // 0 for dense models
  std::uint32_t n_expert_used = 0;
  std::uint32_t n_ff_expert = 0;

  bool is_moe() const { return n_expert > 0; }
  // The attention window of `layer` (0: every earlier position).
  std::uint32_t window_of(std::uint32_t layer) const {
    if (sliding_period == 0 || layer % sliding_period < sliding_period - 1) return sliding_window;
    return 0;
  }
  std::uint32_t q_dim() const { return n_head * head_dim_k; }
  std::uint32_t k_dim() const { return n_head_kv * head_dim_k; }
  std::uint32_t v_dim() const { return n_head_kv * head_dim_v; }
  std::uint32_t attn_out_dim() const { return n_head * head_dim_v; }
};

Result<Hyperparams> read_hyperparams(const gguf::Contents& contents);

}  // namespace pensieve::model
