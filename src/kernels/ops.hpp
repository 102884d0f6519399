// kernels/ops: element-wise and per-vector reference ops of a transformer block.
#pragma once

#include <cstddef>

namespace pensieve::kernels {

// out = x / sqrt(mean(x²) + eps) · weight. `out` may alias `x`.
void rms_norm(const float* x, const float* weight, std::size_t n, float eps, float* out);

// y += x
void add_in_place(float* y, const float* x, std::size_t n);

// y += scale · x
void add_scaled_in_place(float* y, const float* x, float scale, std::size_t n);

// Numerically stable softmax over x[0..n).
void softmax_in_place(float* x, std::size_t n);

// out = silu(gate) · up, silu(g) = g / (1 + e^-g). `out` may alias either input.
void swiglu(const float* gate, const float* up, std::size_t n, float* out);

// out = gelu(gate) · up with GELU's tanh form, 0.5·g·(1 + tanh(√(2/π)·(g + 0.044715·g³))) (Gemma).
// `out` may alias either input.
void geglu_tanh(const float* gate, const float* up, std::size_t n, float* out);

// gpt-oss's gated unit: g = min(gate, limit), u = clamp(up, ±limit), out = g·σ(alpha·g)·(u + 1).
// `out` may alias either input.
void swiglu_clamped(const float* gate, const float* up, std::size_t n, float limit, float alpha, float* out);

}  // namespace pensieve::kernels
