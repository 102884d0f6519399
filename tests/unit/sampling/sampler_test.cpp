#include "sampling/sampler.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

namespace pensieve::sampling {
namespace {

SamplingParams seeded(float temperature) {
  SamplingParams p;
  p.temperature = temperature;
  p.seed = 1234;
  return p;
}

// Draws `n` tokens from fresh copies of `logits` and counts them.
std::vector<int> histogram(Sampler& s, const std::vector<float>& logits, int n) {
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < n; ++i) {
    auto copy = logits;
    ++counts[static_cast<std::size_t>(s.sample(copy))];
  }
  return counts;
}

TEST(Sampler, TemperatureZeroIsArgmax) {
  Sampler s(seeded(0.0f), 5);
  std::vector<float> logits{0.1f, 2.0f, -1.0f, 1.9f, 0.0f};
  for (int i = 0; i < 20; ++i) {
    auto copy = logits;
    EXPECT_EQ(s.sample(copy), 1);
  }
}

TEST(Sampler, FollowsSoftmaxAtTemperatureOne) {
  Sampler s(seeded(1.0f), 3);
  std::vector<float> logits{0.0f, std::log(2.0f), std::log(7.0f)};  // p = 0.1, 0.2, 0.7
  const int n = 20000;
  auto counts = histogram(s, logits, n);
  EXPECT_NEAR(counts[0] / double(n), 0.1, 0.015);
  EXPECT_NEAR(counts[1] / double(n), 0.2, 0.015);
  EXPECT_NEAR(counts[2] / double(n), 0.7, 0.015);
}

TEST(Sampler, LowTemperatureSharpens) {
  Sampler s(seeded(0.25f), 3);
  std::vector<float> logits{0.0f, std::log(2.0f), std::log(7.0f)};
  // p ∝ (0.1, 0.2, 0.7)^4 → the last token takes about 99.6%.
  auto counts = histogram(s, logits, 5000);
  EXPECT_GT(counts[2], 4900);
}

TEST(Sampler, TopKKeepsOnlyTheBest) {
  auto p = seeded(1.0f);
  p.top_k = 2;
  Sampler s(p, 4);
  std::vector<float> logits{1.0f, 3.0f, 2.0f, 0.0f};
  auto counts = histogram(s, logits, 4000);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[3], 0);
  // p(1) : p(2) = e : 1
  EXPECT_NEAR(counts[1] / 4000.0, std::exp(1.0) / (1.0 + std::exp(1.0)), 0.03);
}

TEST(Sampler, TopPCutsTheTail) {
  auto p = seeded(1.0f);
  p.top_p = 0.75f;
  Sampler s(p, 3);
  std::vector<float> logits{0.0f, std::log(2.0f), std::log(7.0f)};  // 0.7 + 0.2 reaches 0.75
  auto counts = histogram(s, logits, 6000);
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(counts[2] / 6000.0, 0.7 / 0.9, 0.03);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  auto p = seeded(1.0f);
  p.min_p = 0.25f;  // floor = 0.25 × 0.7 = 0.175: drops the 0.1 token, keeps 0.2
  Sampler s(p, 3);
  std::vector<float> logits{0.0f, std::log(2.0f), std::log(7.0f)};
  auto counts = histogram(s, logits, 6000);
  EXPECT_EQ(counts[0], 0);
  EXPECT_GT(counts[1], 0);
}

TEST(Sampler, SameSeedSameSequence) {
  std::vector<float> logits{0.5f, 0.4f, 0.3f, 0.2f, 0.1f};
  Sampler a(seeded(1.0f), 5), b(seeded(1.0f), 5);
  auto other = seeded(1.0f);
  other.seed = 99;
  Sampler c(other, 5);
  std::vector<int> xa, xb, xc;
  for (int i = 0; i < 64; ++i) {
    auto l1 = logits, l2 = logits, l3 = logits;
    xa.push_back(a.sample(l1));
    xb.push_back(b.sample(l2));
    xc.push_back(c.sample(l3));
  }
  EXPECT_EQ(xa, xb);
  EXPECT_NE(xa, xc);
}

TEST(Sampler, RepetitionPenaltyAppliesToRecentTokens) {
  auto p = seeded(0.0f);
  p.repetition_penalty = 2.0f;
  Sampler s(p, 3);
  std::vector<float> logits{3.0f, 2.0f, -1.0f};
  s.accept(0);
  EXPECT_EQ(s.sample(logits), 1);  // 3/2 = 1.5 < 2
  EXPECT_FLOAT_EQ(logits[0], 1.5f);
  EXPECT_FLOAT_EQ(logits[1], 2.0f);
}

TEST(Sampler, FrequencyAndPresencePenaltiesCountOccurrences) {
  auto p = seeded(0.0f);
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  Sampler s(p, 3);
  s.accept(2);
  s.accept(2);
  s.accept(1);
  std::vector<float> logits{0.0f, 1.0f, 1.0f};
  s.sample(logits);
  EXPECT_FLOAT_EQ(logits[0], 0.0f);
  EXPECT_FLOAT_EQ(logits[1], 1.0f - 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(logits[2], 1.0f - 0.5f - 0.5f);
}

TEST(Sampler, PenaltyWindowForgetsOldTokens) {
  auto p = seeded(0.0f);
  p.presence_penalty = 10.0f;
  p.penalty_window = 2;
  Sampler s(p, 3);
  s.accept(0);
  s.accept(1);
  s.accept(2);  // pushes token 0 out of the window
  std::vector<float> logits{1.0f, 1.0f, 1.0f};
  EXPECT_EQ(s.sample(logits), 0);
  EXPECT_FLOAT_EQ(logits[0], 1.0f);
  EXPECT_FLOAT_EQ(logits[1], -9.0f);
}

TEST(Sampler, ValidateRejectsOutOfRange) {
  SamplingParams p;
  EXPECT_TRUE(validate(p).ok());
  p.temperature = -0.1f;
  EXPECT_FALSE(validate(p).ok());
  p = {};
  p.top_p = 0.0f;
  EXPECT_FALSE(validate(p).ok());
  p = {};
  p.top_k = -1;
  EXPECT_FALSE(validate(p).ok());
  p = {};
  p.temperature = NAN;
  EXPECT_FALSE(validate(p).ok());
}

}  // namespace
}  // namespace pensieve::sampling
