#include "kernels/ops.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace pensieve::kernels {

void rms_norm(const float* x, const float* weight, std::size_t n, float eps, float* out) {
  double sum_squares = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum_squares += static_cast<double>(x[i]) * x[i];
  const auto scale = static_cast<float>(1.0 / std::sqrt(sum_squares / static_cast<double>(n) + eps));
  for (std::size_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void add_in_place(float* y, const float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += x[i];
}

void add_scaled_in_place(float* y, const float* x, float scale, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += scale * x[i];
}

void softmax_in_place(float* x, std::size_t n) {
  if (n == 0) return;
  const float max = *std::max_element(x, x + n);
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const auto inv = static_cast<float>(1.0 / sum);
  for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(const float* gate, const float* up, std::size_t n, float* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void geglu_tanh(const float* gate, const float* up, std::size_t n, float* out) {
  const float k = std::sqrt(2.0f / std::numbers::pi_v<float>);
  for (std::size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = 0.5f * g * (1.0f + std::tanh(k * (g + 0.044715f * g * g * g))) * up[i];
  }
}

void swiglu_clamped(const float* gate, const float* up, std::size_t n, float limit, float alpha, float* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const float g = std::min(gate[i], limit);
    const float u = std::clamp(up[i], -limit, limit);
    out[i] = g / (1.0f + std::exp(-alpha * g)) * (u + 1.0f);
  }
}

}  // namespace pensieve::kernels
