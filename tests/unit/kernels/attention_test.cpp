#include "kernels/attention.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace pensieve::kernels {
namespace {

TEST(Attention, SingleKeyReturnsItsValue) {
  const AttentionShape shape{1, 1, 2, 3};
  const std::vector<float> q = {0.3f, -0.7f};
  const std::vector<float> keys = {1.0f, 2.0f};
  const std::vector<float> values = {4.0f, 5.0f, 6.0f};
  std::vector<float> out(3), scores(1);
  attention(q.data(), keys.data(), values.data(), 0, 1, shape, 1.0f, out.data(), scores.data());
  EXPECT_EQ(out, values);
}

TEST(Attention, WeightsValuesBySoftmaxOfScaledScores) {
  const AttentionShape shape{1, 1, 1, 1};
  const std::vector<float> q = {1.0f};
  const std::vector<float> keys = {0.0f, 2.0f};
  const std::vector<float> values = {10.0f, 20.0f};
  std::vector<float> out(1), scores(2);
  attention(q.data(), keys.data(), values.data(), 0, 2, shape, 0.5f, out.data(), scores.data());
  // Scores 0 and 1 after scaling.
  const double w1 = std::exp(1.0) / (1.0 + std::exp(1.0));
  EXPECT_NEAR(out[0], 10.0 * (1.0 - w1) + 20.0 * w1, 1e-5);
}

// Four query heads share two key/value heads; keys before first_key must not be read.
TEST(Attention, GroupedHeadsUseTheirSharedKeyValueHeadAndSkipEarlierKeys) {
  const AttentionShape shape{4, 2, 1, 1};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Cache rows (2 kv heads each) at positions 0, 1, 2; position 0 is outside the window.
  const std::vector<float> keys = {nan, nan, 1.0f, 1.0f, 1.0f, 1.0f};
  const std::vector<float> values = {nan, nan, 1.0f, 100.0f, 3.0f, 300.0f};
  const std::vector<float> q = {0.0f, 0.0f, 0.0f, 0.0f};  // equal scores: plain averages
  std::vector<float> out(4), scores(2);
  attention(q.data(), keys.data(), values.data(), 1, 2, shape, 1.0f, out.data(), scores.data());
  EXPECT_FLOAT_EQ(out[0], 2.0f);
  EXPECT_FLOAT_EQ(out[1], 2.0f);
  EXPECT_FLOAT_EQ(out[2], 200.0f);
  EXPECT_FLOAT_EQ(out[3], 200.0f);
}

}  // namespace
}  // namespace pensieve::kernels
