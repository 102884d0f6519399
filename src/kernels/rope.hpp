// kernels/rope: rotary position embeddings in both layouts GGUF models use.
//
// A head of `head_dim` values has its first `n_rot` dims rotated in n_rot/2 pairs; pair i turns
// by position·θ_i with θ_i = base^(-2i/n_rot) (divided by a per-pair factor where the model has
// one, as Llama 3's rope_freqs). The layouts differ only in which two dims form pair i.
#pragma once

#include <cstddef>

namespace pensieve::kernels {

enum class RopeStyle {
  kNormal,  // pair i = (2i, 2i+1): llama, whose converter permutes q/k rows into this order
  kNeox,    // pair i = (i, i + n_rot/2): the half-split layout of qwen2/qwen3/phi3 and others
};

// cos/sin of position·θ_i for i < n_rot/2 into cos_out/sin_out. `freq_divisors` may be null.
void rope_angles(double position, double freq_base, std::size_t n_rot, const float* freq_divisors,
                 float* cos_out, float* sin_out);

// Rotates, in place, the first n_rot dims of each of n_heads heads stored back to back.
void rope_apply(float* x, std::size_t n_heads, std::size_t head_dim, std::size_t n_rot, RopeStyle style,
                const float* cos, const float* sin);

}  // namespace pensieve::kernels
