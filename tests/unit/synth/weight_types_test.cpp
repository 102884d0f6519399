// Which tensor type each matrix gets: pure schemes, the *_K_M rules and the row-length fallbacks.
#include "synth/weight_types.hpp"

#include <gtest/gtest.h>

#include <set>

namespace pensieve::synth {
namespace {

using tensor::TensorType;

WeightScheme scheme(std::string_view name) {
  auto s = find_scheme(name);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return *s;
}

std::set<std::uint32_t> more_bits_layers(std::uint32_t n_layer) {
  std::set<std::uint32_t> layers;
  for (std::uint32_t i = 0; i < n_layer; ++i) {
    if (use_more_bits(i, n_layer)) layers.insert(i);
  }
  return layers;
}

TEST(SynthWeightTypes, MoreBitsLayersAreTheFirstAndLastEighthAndEveryThirdBetween) {
  EXPECT_EQ(more_bits_layers(16), (std::set<std::uint32_t>{0, 1, 4, 7, 10, 13, 14, 15}));
  EXPECT_EQ(more_bits_layers(32),
            (std::set<std::uint32_t>{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}));
  EXPECT_EQ(more_bits_layers(2), (std::set<std::uint32_t>{1}));
}

TEST(SynthWeightTypes, FallbackFollowsTheBlockThatFitsTheRow) {
  EXPECT_EQ(fallback_type(TensorType::kQ4_K, 512), TensorType::kQ4_K);
  EXPECT_EQ(fallback_type(TensorType::kQ4_K, 896), TensorType::kQ5_0);
  EXPECT_EQ(fallback_type(TensorType::kQ5_K, 896), TensorType::kQ5_1);
  EXPECT_EQ(fallback_type(TensorType::kQ6_K, 896), TensorType::kQ8_0);
  EXPECT_EQ(fallback_type(TensorType::kQ4_K, 48), TensorType::kF16);
  EXPECT_EQ(fallback_type(TensorType::kQ8_0, 48), TensorType::kF16);
  EXPECT_EQ(fallback_type(TensorType::kIQ4_NL, 64), TensorType::kIQ4_NL);
  EXPECT_EQ(fallback_type(TensorType::kBF16, 7), TensorType::kBF16);
}

TEST(SynthWeightTypes, PureSchemesPutEveryMatrixInTheirTypeButTheRouter) {
  const ModelFacts facts{16, 0, true};
  for (const auto& s : all_schemes()) {
    if (s.mix != Mix::kPure) continue;
    for (MatrixRole role :
         {MatrixRole::kTokenEmbd, MatrixRole::kOutput, MatrixRole::kAttnV, MatrixRole::kFfnDown}) {
      EXPECT_EQ(choose_type(s, {role, 0, 2048}, facts), s.base) << s.name;
    }
    EXPECT_EQ(choose_type(s, {MatrixRole::kRouter, 0, 2048}, facts), TensorType::kF32) << s.name;
  }
}

TEST(SynthWeightTypes, KQuantMediumRules) {
  const WeightScheme q4km = scheme("Q4_K_M");
  const ModelFacts untied{16, 0, false}, tied{16, 0, true};
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kOutput, 0, 2048}, untied), TensorType::kQ6_K);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kTokenEmbd, 0, 2048}, untied), TensorType::kQ4_K);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kTokenEmbd, 0, 2048}, tied), TensorType::kQ6_K);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kAttnQ, 4, 2048}, untied), TensorType::kQ4_K);
  for (std::uint32_t layer = 0; layer < 16; ++layer) {
    const TensorType expected = use_more_bits(layer, 16) ? TensorType::kQ6_K : TensorType::kQ4_K;
    EXPECT_EQ(choose_type(q4km, {MatrixRole::kAttnV, layer, 2048}, untied), expected) << layer;
    EXPECT_EQ(choose_type(q4km, {MatrixRole::kFfnDown, layer, 8192}, untied), expected) << layer;
    EXPECT_EQ(choose_type(q4km, {MatrixRole::kFfnGate, layer, 2048}, untied), TensorType::kQ4_K) << layer;
  }
  const WeightScheme q5km = scheme("q5_k_m");  // names are case-insensitive
  EXPECT_EQ(choose_type(q5km, {MatrixRole::kAttnQ, 0, 2048}, untied), TensorType::kQ5_K);
  EXPECT_EQ(choose_type(q5km, {MatrixRole::kAttnV, 0, 2048}, untied), TensorType::kQ6_K);
  EXPECT_EQ(choose_type(q5km, {MatrixRole::kOutput, 0, 2048}, untied), TensorType::kQ6_K);
}

TEST(SynthWeightTypes, KQuantMediumFallsBackOnlyWhereRowsAreNotWholeSuperBlocks) {
  const WeightScheme q4km = scheme("Q4_K_M");
  const ModelFacts tied{24, 0, true};
  // Qwen2.5-0.5B: n_embd 896 (3.5 super-blocks), n_ff 4864 (19 super-blocks).
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kTokenEmbd, 0, 896}, tied), TensorType::kQ8_0);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kAttnQ, 5, 896}, tied), TensorType::kQ5_0);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kAttnV, 0, 896}, tied), TensorType::kQ8_0);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kFfnDown, 0, 4864}, tied), TensorType::kQ6_K);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kFfnDown, 4, 4864}, tied), TensorType::kQ4_K);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kFfnDown, 5, 4864}, tied), TensorType::kQ6_K);  // (5 - 3) % 3 == 2
  EXPECT_EQ(choose_type(scheme("Q5_K_M"), {MatrixRole::kFfnUp, 5, 896}, tied), TensorType::kQ5_1);
}

TEST(SynthWeightTypes, EightExpertModelsWidenAttention) {
  const WeightScheme q4km = scheme("Q4_K_M");
  const ModelFacts eight{2, 8, false}, many{48, 128, false};
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kAttnV, 0, 256}, eight), TensorType::kQ8_0);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kAttnK, 0, 256}, eight), TensorType::kQ8_0);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kAttnOutput, 0, 256}, eight), TensorType::kQ5_K);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kAttnK, 0, 2048}, many), TensorType::kQ4_K);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kDownExps, 0, 768}, many), TensorType::kQ6_K);
  EXPECT_EQ(choose_type(q4km, {MatrixRole::kDownExps, 6, 768}, many), TensorType::kQ4_K);
}

TEST(SynthWeightTypes, UnknownTypeListsTheValidOnes) {
  auto s = find_scheme("Q3_K_M");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("Q3_K_M"), std::string::npos);
  for (const auto& known : all_schemes()) EXPECT_NE(s.error().message.find(known.name), std::string::npos);
}

}  // namespace
}  // namespace pensieve::synth
