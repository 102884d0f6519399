#include "kernels/rope.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/matmul.hpp"

namespace pensieve::kernels {
namespace {

constexpr double kBase = 10000.0;

struct Angles {
  std::vector<float> cos, sin;
};

Angles angles(double position, std::size_t n_rot, const float* divisors = nullptr) {
  Angles a{std::vector<float>(n_rot / 2), std::vector<float>(n_rot / 2)};
  rope_angles(position, plain_rope(kBase, n_rot, divisors), a.cos.data(), a.sin.data());
  return a;
}

TEST(Rope, PositionZeroIsIdentity) {
  for (RopeStyle style : {RopeStyle::kNormal, RopeStyle::kNeox}) {
    std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
    const auto before = x;
    const Angles a = angles(0.0, 8);
    rope_apply(x.data(), 1, 8, 8, style, a.cos.data(), a.sin.data());
    EXPECT_EQ(x, before);
  }
}

// Head of 6 dims with 4 rotated: pair 0 turns by p, pair 1 by p·base^(-1/2); dims 4, 5 stay.
TEST(Rope, NormalLayoutRotatesAdjacentPairs) {
  const double p = 3.0;
  const double t1 = p * std::pow(kBase, -0.5);
  std::vector<float> x = {1, 0, 0, 1, 5, 6};
  const Angles a = angles(p, 4);
  rope_apply(x.data(), 1, 6, 4, RopeStyle::kNormal, a.cos.data(), a.sin.data());
  EXPECT_NEAR(x[0], std::cos(p), 1e-6);
  EXPECT_NEAR(x[1], std::sin(p), 1e-6);
  EXPECT_NEAR(x[2], -std::sin(t1), 1e-6);
  EXPECT_NEAR(x[3], std::cos(t1), 1e-6);
  EXPECT_EQ(x[4], 5.0f);
  EXPECT_EQ(x[5], 6.0f);
}

TEST(Rope, NeoxLayoutRotatesHalfSplitPairs) {
  const double p = 3.0;
  const double t1 = p * std::pow(kBase, -0.5);
  // Pairs are (0, 2) and (1, 3).
  std::vector<float> x = {1, 0, 0, 1, 5, 6};
  const Angles a = angles(p, 4);
  rope_apply(x.data(), 1, 6, 4, RopeStyle::kNeox, a.cos.data(), a.sin.data());
  EXPECT_NEAR(x[0], std::cos(p), 1e-6);
  EXPECT_NEAR(x[2], std::sin(p), 1e-6);
  EXPECT_NEAR(x[1], -std::sin(t1), 1e-6);
  EXPECT_NEAR(x[3], std::cos(t1), 1e-6);
  EXPECT_EQ(x[4], 5.0f);
  EXPECT_EQ(x[5], 6.0f);
}

TEST(Rope, EveryHeadIsRotatedAlike) {
  std::vector<float> x = {1, 2, 3, 4, 1, 2, 3, 4};
  const Angles a = angles(7.0, 4);
  rope_apply(x.data(), 2, 4, 4, RopeStyle::kNeox, a.cos.data(), a.sin.data());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(x[i], x[4 + i]);
  EXPECT_NE(x[0], 1.0f);
}

TEST(Rope, FrequencyDivisorsSlowEachPair) {
  const std::vector<float> divisors = {2.0f, 4.0f};
  const Angles scaled = angles(10.0, 4, divisors.data());
  const Angles plain_half = angles(5.0, 4);
  EXPECT_NEAR(scaled.cos[0], plain_half.cos[0], 1e-6);
  EXPECT_NEAR(scaled.sin[0], plain_half.sin[0], 1e-6);
  const Angles plain_quarter = angles(2.5, 4);
  EXPECT_NEAR(scaled.cos[1], plain_quarter.cos[1], 1e-6);
}

// gpt-oss's YaRN (base 150000, 32 rotated dims, factor 32 over 4096 positions, betas 32 and 1):
// the ramp runs between pair dims 4.047 and 8.699 (4 and 9 when truncated). Below it pairs keep
// θ, above it they turn `factor` times slower, and cos/sin carry 0.1·ln(32) + 1.
TEST(Rope, YarnKeepsFastPairsSlowsSlowOnesAndRampsBetween) {
  YarnParams yarn{.factor = 32, .original_context = 4096, .beta_fast = 32, .beta_slow = 1, .truncate = false};
  const RopeTable plain = plain_rope(150000, 32, nullptr);
  const RopeTable fractional = yarn_rope(150000, 32, yarn);
  yarn.truncate = true;
  const RopeTable rounded = yarn_rope(150000, 32, yarn);
  for (const RopeTable* t : {&fractional, &rounded}) {
    ASSERT_EQ(t->theta.size(), 16u);
    for (std::size_t i = 0; i <= 4; ++i) EXPECT_EQ(t->theta[i], plain.theta[i]) << i;
    for (std::size_t i = 9; i < 16; ++i) EXPECT_DOUBLE_EQ(t->theta[i], plain.theta[i] / 32) << i;
    EXPECT_NEAR(t->magnitude, 1.34657359, 1e-8);
  }
  // Pair 6 lies 0.41989 of the way along the fractional ramp, 0.4 along the rounded one.
  EXPECT_NEAR(fractional.theta[6] / plain.theta[6], 1 - 0.4198944 * (1 - 1.0 / 32), 1e-6);
  EXPECT_DOUBLE_EQ(rounded.theta[6] / plain.theta[6], 1 - 0.4 * (1 - 1.0 / 32));
  float c = 0, s = 0;
  RopeTable one = fractional;
  one.theta.resize(1);
  rope_angles(2.0, one, &c, &s);
  EXPECT_NEAR(c, std::cos(2.0) * 1.34657359, 1e-6);
  EXPECT_NEAR(s, std::sin(2.0) * 1.34657359, 1e-6);
}

// The property RoPE exists for: q·k depends only on the distance between their positions.
TEST(Rope, DotProductDependsOnlyOnRelativePosition) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> q(16), k(16);
  for (auto& v : q) v = dist(rng);
  for (auto& v : k) v = dist(rng);
  for (RopeStyle style : {RopeStyle::kNormal, RopeStyle::kNeox}) {
    auto score = [&](double qpos, double kpos) {
      auto qr = q, kr = k;
      const Angles qa = angles(qpos, 16), ka = angles(kpos, 16);
      rope_apply(qr.data(), 1, 16, 16, style, qa.cos.data(), qa.sin.data());
      rope_apply(kr.data(), 1, 16, 16, style, ka.cos.data(), ka.sin.data());
      return dot(qr.data(), kr.data(), 16);
    };
    EXPECT_NEAR(score(9, 4), score(105, 100), 1e-4);
    EXPECT_GT(std::abs(score(9, 4) - score(9, 8)), 1e-4);
  }
}

}  // namespace
}  // namespace pensieve::kernels
