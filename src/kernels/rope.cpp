#include "kernels/rope.hpp"

#include <cmath>

namespace pensieve::kernels {

void rope_angles(double position, double freq_base, std::size_t n_rot, const float* freq_divisors,
                 float* cos_out, float* sin_out) {
  const std::size_t half = n_rot / 2;
  for (std::size_t i = 0; i < half; ++i) {
    double theta = std::pow(freq_base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
    if (freq_divisors != nullptr) theta /= freq_divisors[i];
    const double angle = position * theta;
    cos_out[i] = static_cast<float>(std::cos(angle));
    sin_out[i] = static_cast<float>(std::sin(angle));
  }
}

void rope_apply(float* x, std::size_t n_heads, std::size_t head_dim, std::size_t n_rot, RopeStyle style,
                const float* cos, const float* sin) {
  const std::size_t half = n_rot / 2;
  // Distance between the two members of a pair, and between the first members of pairs i, i+1.
  const std::size_t partner = style == RopeStyle::kNormal ? 1 : half;
  const std::size_t step = style == RopeStyle::kNormal ? 2 : 1;
  for (std::size_t h = 0; h < n_heads; ++h) {
    float* head = x + h * head_dim;
    for (std::size_t i = 0; i < half; ++i) {
      float* a = head + i * step;
      float* b = a + partner;
      const float x0 = *a;
      const float x1 = *b;
      *a = x0 * cos[i] - x1 * sin[i];
      *b = x0 * sin[i] + x1 * cos[i];
    }
  }
}

}  // namespace pensieve::kernels
