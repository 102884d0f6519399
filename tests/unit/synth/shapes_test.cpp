// The built-in shapes and the llama3 RoPE factors.
#include "synth/shapes.hpp"

#include <gtest/gtest.h>

#include "synth/rope_factors.hpp"

namespace pensieve::synth {
namespace {

TEST(SynthShapes, EveryBuiltInShapeIsValid) {
  for (const auto& s : all_shapes())
    EXPECT_TRUE(check_shape(s).ok()) << s.name << ": " << check_shape(s).error().message;
}

TEST(SynthShapes, RealShapesHaveTheirConfigValues) {
  auto l1b = find_shape("llama3.2-1b");
  ASSERT_TRUE(l1b.ok());
  EXPECT_EQ(l1b->n_layer, 16u);
  EXPECT_EQ(l1b->n_embd, 2048u);
  EXPECT_EQ(l1b->n_ff, 8192u);
  EXPECT_EQ(l1b->q_dim(), 2048u);
  EXPECT_EQ(l1b->kv_dim(), 512u);
  EXPECT_EQ(l1b->n_vocab, 128256u);
  EXPECT_TRUE(l1b->tied_embeddings);
  ASSERT_TRUE(l1b->llama3_rope.has_value());
  EXPECT_EQ(l1b->llama3_rope->factor, 32.0);

  auto a3b = find_shape("qwen3-30b-a3b");
  ASSERT_TRUE(a3b.ok());
  EXPECT_EQ(a3b->architecture, model::Architecture::kQwen3Moe);
  EXPECT_EQ(a3b->q_dim(), 4096u);  // wider than n_embd: head_dim 128 × 32 heads
  EXPECT_EQ(a3b->n_expert, 128u);
  EXPECT_EQ(a3b->n_expert_used, 8u);
  EXPECT_EQ(a3b->n_ff_expert, 768u);
  EXPECT_FALSE(a3b->tied_embeddings);
}

TEST(SynthShapes, UnknownShapeListsTheValidOnes) {
  auto s = find_shape("llama-70b");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("llama-70b"), std::string::npos);
  for (const auto& known : all_shapes()) EXPECT_NE(s.error().message.find(known.name), std::string::npos);
}

TEST(SynthShapes, InconsistentShapesAreRefused) {
  Shape s = *find_shape("tiny-llama");
  s.n_head_kv = 3;
  EXPECT_FALSE(check_shape(s).ok());
  s = *find_shape("tiny-llama");
  s.n_layer = 0;
  EXPECT_FALSE(check_shape(s).ok());
  s = *find_shape("tiny-llama");
  s.n_expert = 4;  // experts on a dense family
  EXPECT_FALSE(check_shape(s).ok());
}

TEST(SynthShapes, Llama3RopeFactorsStretchOnlyLowFrequencies) {
  const Shape s = *find_shape("llama3.2-1b");
  const auto f = llama3_rope_factors(*s.llama3_rope, s.rope_freq_base, s.head_dim);
  ASSERT_EQ(f.size(), 32u);
  EXPECT_FLOAT_EQ(f.front(), 1.0f);  // the fastest rotation: wavelength 2π, untouched
  EXPECT_FLOAT_EQ(f.back(), 32.0f);  // the slowest: far beyond 8192 positions, fully stretched
  for (std::size_t i = 1; i < f.size(); ++i) EXPECT_GE(f[i], f[i - 1]) << i;
  const bool blended = std::any_of(f.begin(), f.end(), [](float x) { return x > 1.0f && x < 32.0f; });
  EXPECT_TRUE(blended);
}

}  // namespace
}  // namespace pensieve::synth
