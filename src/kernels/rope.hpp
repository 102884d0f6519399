// kernels/rope: rotary position embeddings in both layouts GGUF models use.
//
// A head of `head_dim` values has its first `n_rot` dims rotated in n_rot/2 pairs; pair i turns
// by position·θ_i with θ_i = base^(-2i/n_rot) (divided by a per-pair factor where the model has
// one, as Llama 3's rope_freqs). The layouts differ only in which two dims form pair i.
#pragma once

#include <cstddef>
#include <vector>

namespace pensieve::kernels {

enum class RopeStyle {
  kNormal,  // pair i = (2i, 2i+1): llama, whose converter permutes q/k rows into this order
  kNeox,    // pair i = (i, i + n_rot/2): the half-split layout of qwen2/qwen3/phi3 and others
};

// A model's rotation, computed once: θ_i of each pair, a factor on positions (linear scaling) and
// one on cos and sin (YaRN's attention factor, which scales every q·k by its square).
struct RopeTable {
  std::vector<double> theta;  // n_rot / 2
  double position_scale = 1.0;
  double magnitude = 1.0;
};

// θ_i = base^(-2i/n_rot), divided by freq_divisors[i] where given (may be null).
RopeTable plain_rope(double freq_base, std::size_t n_rot, const float* freq_divisors,
                     double position_scale = 1.0);

// YaRN (context extension by `factor` over `original_context`): pairs that turn fewer than
// beta_slow times over the original context are interpolated (θ/factor), those turning more than
// beta_fast times kept, with a linear ramp between the two dims where that happens. `truncate`
// rounds the ramp's ends to whole dims (what most converted models expect); gpt-oss was trained
// with them fractional. cos and sin carry YaRN's 0.1·ln(factor) + 1, times attention_factor (as
// GGUF's rope.scaling.attn_factor means it).
struct YarnParams {
  double factor = 1.0;
  double original_context = 0.0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  bool truncate = true;
  double attention_factor = 1.0;
};
RopeTable yarn_rope(double freq_base, std::size_t n_rot, const YarnParams& yarn);

// cos/sin of (position · position_scale) · θ_i, times the magnitude, for every pair.
void rope_angles(double position, const RopeTable& table, float* cos_out, float* sin_out);

// Rotates, in place, the first n_rot dims of each of n_heads heads stored back to back.
void rope_apply(float* x, std::size_t n_heads, std::size_t head_dim, std::size_t n_rot, RopeStyle style,
                const float* cos, const float* sin);

}  // namespace pensieve::kernels
