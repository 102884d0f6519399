#include "kernels/ops.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace pensieve::kernels {
namespace {

TEST(RmsNorm, ScalesByInverseRootMeanSquareAndWeight) {
  const std::vector<float> x = {3.0f, 4.0f};
  const std::vector<float> w = {1.0f, 2.0f};
  std::vector<float> out(2);
  rms_norm(x.data(), w.data(), 2, 0.0f, out.data());
  const double inv = 1.0 / std::sqrt(12.5);
  EXPECT_NEAR(out[0], 3.0 * inv, 1e-6);
  EXPECT_NEAR(out[1], 8.0 * inv, 1e-6);
}

TEST(RmsNorm, EpsilonKeepsZeroInputFiniteAndOutputMayAliasInput) {
  std::vector<float> x = {0.0f, 0.0f, 0.0f};
  const std::vector<float> w = {1.0f, 1.0f, 1.0f};
  rms_norm(x.data(), w.data(), 3, 1e-6f, x.data());
  for (float v : x) EXPECT_EQ(v, 0.0f);
  std::vector<float> y = {1.0f, -1.0f};
  rms_norm(y.data(), w.data(), 2, 0.0f, y.data());
  EXPECT_NEAR(y[0], 1.0f, 1e-6);
  EXPECT_NEAR(y[1], -1.0f, 1e-6);
}

TEST(Softmax, KnownValuesSumToOne) {
  std::vector<float> x = {1.0f, 2.0f, 3.0f};
  softmax_in_place(x.data(), x.size());
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(x[0], std::exp(1.0) / z, 1e-6);
  EXPECT_NEAR(x[1], std::exp(2.0) / z, 1e-6);
  EXPECT_NEAR(x[2], std::exp(3.0) / z, 1e-6);
}

TEST(Softmax, LargeInputsDoNotOverflow) {
  std::vector<float> x = {1000.0f, 1001.0f, -1e30f};
  softmax_in_place(x.data(), x.size());
  EXPECT_NEAR(x[0], 1.0 / (1.0 + std::exp(1.0)), 1e-6);
  EXPECT_NEAR(x[1], std::exp(1.0) / (1.0 + std::exp(1.0)), 1e-6);
  EXPECT_EQ(x[2], 0.0f);
}

TEST(Swiglu, IsSiluOfGateTimesUp) {
  const std::vector<float> gate = {0.0f, 1.0f, -2.0f, 20.0f};
  const std::vector<float> up = {5.0f, 2.0f, 3.0f, 0.5f};
  std::vector<float> out(4);
  swiglu(gate.data(), up.data(), 4, out.data());
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], 2.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(out[2], 3.0 * -2.0 / (1.0 + std::exp(2.0)), 1e-6);
  EXPECT_NEAR(out[3], 0.5 * 20.0, 1e-5);
}

TEST(Geglu, IsTanhGeluOfGateTimesUp) {
  const std::vector<float> gate = {0.0f, 1.0f, -2.0f, 6.0f};
  const std::vector<float> up = {5.0f, 2.0f, 3.0f, 0.5f};
  std::vector<float> out(4);
  geglu_tanh(gate.data(), up.data(), 4, out.data());
  const auto gelu = [](double g) {
    return 0.5 * g * (1.0 + std::tanh(std::sqrt(2.0 / 3.14159265358979) * (g + 0.044715 * g * g * g)));
  };
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], gelu(1.0) * 2.0, 1e-6);  // 0.8412 · 2
  EXPECT_NEAR(out[2], gelu(-2.0) * 3.0, 1e-6);
  EXPECT_NEAR(out[3], 6.0 * 0.5, 1e-5);  // GELU is nearly the identity far above 0
}

// gpt-oss: the gate clamped from above only, up from both sides, and up shifted by one.
TEST(Swiglu, ClampedVariantClampsAndShiftsUp) {
  const std::vector<float> gate = {1.0f, 9.0f, -9.0f, 0.5f};
  const std::vector<float> up = {2.0f, 1.0f, 1.0f, -8.0f};
  std::vector<float> out(4);
  swiglu_clamped(gate.data(), up.data(), 4, 7.0f, 1.702f, out.data());
  const auto glu = [](double g) { return g / (1.0 + std::exp(-1.702 * g)); };
  EXPECT_NEAR(out[0], glu(1.0) * 3.0, 1e-6);
  EXPECT_NEAR(out[1], glu(7.0) * 2.0, 1e-5);   // gate 9 → 7
  EXPECT_NEAR(out[2], glu(-9.0) * 2.0, 1e-6);  // no floor on the gate
  EXPECT_NEAR(out[3], glu(0.5) * -6.0, 1e-6);  // up −8 → −7, plus one
}

TEST(AddInPlace, AddsPlainAndScaled) {
  std::vector<float> y = {1.0f, 2.0f};
  const std::vector<float> x = {10.0f, 20.0f};
  add_in_place(y.data(), x.data(), 2);
  EXPECT_EQ(y, (std::vector<float>{11.0f, 22.0f}));
  add_scaled_in_place(y.data(), x.data(), 0.5f, 2);
  EXPECT_EQ(y, (std::vector<float>{16.0f, 32.0f}));
}

}  // namespace
}  // namespace pensieve::kernels
