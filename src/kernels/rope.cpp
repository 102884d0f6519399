#include "kernels/rope.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace pensieve::kernels {

RopeTable plain_rope(double freq_base, std::size_t n_rot, const float* freq_divisors, double position_scale) {
  RopeTable table;
  table.position_scale = position_scale;
  table.theta.resize(n_rot / 2);
  for (std::size_t i = 0; i < table.theta.size(); ++i) {
    double theta = std::pow(freq_base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
    if (freq_divisors != nullptr) theta /= freq_divisors[i];
    table.theta[i] = theta;
  }
  return table;
}

namespace {

// The (fractional) pair dimension at which a pair turns `rotations` times over `context` positions.
double yarn_correction_dim(double rotations, double n_rot, double base, double context) {
  return n_rot * std::log(context / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
}

}  // namespace

RopeTable yarn_rope(double freq_base, std::size_t n_rot, const YarnParams& yarn) {
  RopeTable table = plain_rope(freq_base, n_rot, nullptr);
  const double dims = static_cast<double>(n_rot);
  double low = yarn_correction_dim(yarn.beta_fast, dims, freq_base, yarn.original_context);
  double high = yarn_correction_dim(yarn.beta_slow, dims, freq_base, yarn.original_context);
  if (yarn.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, dims - 1.0);
  if (low == high) high += 0.001;  // the ramp needs a width
  for (std::size_t i = 0; i < table.theta.size(); ++i) {
    const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    const double keep = 1.0 - ramp;  // share of the original frequency
    const double extrapolated = table.theta[i];
    const double interpolated = table.theta[i] / yarn.factor;
    table.theta[i] = interpolated * (1.0 - keep) + extrapolated * keep;
  }
  table.magnitude = yarn.attention_factor * (yarn.factor > 1.0 ? 0.1 * std::log(yarn.factor) + 1.0 : 1.0);
  return table;
}

void rope_angles(double position, const RopeTable& table, float* cos_out, float* sin_out) {
  const double p = position * table.position_scale;
  for (std::size_t i = 0; i < table.theta.size(); ++i) {
    const double angle = p * table.theta[i];
    if (table.magnitude == 1.0) {
      cos_out[i] = static_cast<float>(std::cos(angle));
      sin_out[i] = static_cast<float>(std::sin(angle));
    } else {
      cos_out[i] = static_cast<float>(std::cos(angle) * table.magnitude);
      sin_out[i] = static_cast<float>(std::sin(angle) * table.magnitude);
    }
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
