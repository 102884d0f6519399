#include "model/hyperparams.hpp"

#include <gtest/gtest.h>

#include "contents_editing.hpp"

namespace pensieve::model {
namespace {

using namespace testing;

::testing::AssertionResult fails_mentioning(const Result<Hyperparams>& r, std::string_view text) {
  if (r.ok()) return ::testing::AssertionFailure() << "read_hyperparams succeeded";
  if (r.error().message.find(text) == std::string::npos) {
    return ::testing::AssertionFailure() << "message '" << r.error().message << "' lacks '" << text << "'";
  }
  return ::testing::AssertionSuccess();
}

TEST(Hyperparams, ReadsLlamaFixture) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  auto hp = read_hyperparams(file.contents());
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_EQ(hp->architecture, Architecture::kLlama);
  EXPECT_EQ(hp->n_vocab, 512u);
  EXPECT_EQ(hp->n_embd, 256u);
  EXPECT_EQ(hp->n_layer, 2u);
  EXPECT_EQ(hp->n_head, 4u);
  EXPECT_EQ(hp->n_head_kv, 2u);
  EXPECT_EQ(hp->head_dim_k, 64u);
  EXPECT_EQ(hp->head_dim_v, 64u);
  EXPECT_EQ(hp->n_ff, 512u);
  EXPECT_EQ(hp->n_rot, 64u);
  EXPECT_EQ(hp->n_ctx_train, 4096u);
  EXPECT_DOUBLE_EQ(hp->rope_freq_base, 500000.0);
  EXPECT_FLOAT_EQ(hp->rms_norm_eps, 1e-5f);
  EXPECT_EQ(hp->rope_style, kernels::RopeStyle::kNormal);
  EXPECT_FALSE(hp->is_moe());
}

TEST(Hyperparams, Qwen3HeadDimComesFromKeyLengthAndRopeIsNeox) {
  const gguf::File file = open_fixture("qwen3-f16.gguf");
  auto hp = read_hyperparams(file.contents());
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_EQ(hp->head_dim_k, 128u);  // not 256 / 4
  EXPECT_EQ(hp->q_dim(), 512u);
  EXPECT_EQ(hp->k_dim(), 256u);
  EXPECT_EQ(hp->rope_style, kernels::RopeStyle::kNeox);
}

TEST(Hyperparams, Qwen3MoeReadsExperts) {
  const gguf::File file = open_fixture("qwen3moe-f16.gguf");
  auto hp = read_hyperparams(file.contents());
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_TRUE(hp->is_moe());
  EXPECT_EQ(hp->n_expert, 8u);
  EXPECT_EQ(hp->n_expert_used, 2u);
  EXPECT_EQ(hp->n_ff_expert, 256u);
  EXPECT_EQ(hp->n_ff, 0u);
}

TEST(Hyperparams, Phi3ReadsSlidingWindow) {
  const gguf::File file = open_fixture("phi3-f16.gguf");
  auto hp = read_hyperparams(file.contents());
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_EQ(hp->sliding_window, 4096u);
  EXPECT_EQ(hp->n_head_kv, 4u);
}

TEST(Hyperparams, MissingRequiredKeyIsNamed) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  for (std::string_view key :
       {"llama.block_count", "llama.embedding_length", "llama.attention.head_count",
        "llama.feed_forward_length", "llama.attention.layer_norm_rms_epsilon", "general.architecture"}) {
    gguf::Contents c = file.contents();
    erase_metadata(c, key);
    EXPECT_TRUE(fails_mentioning(read_hyperparams(c), key)) << key;
  }
}

TEST(Hyperparams, OptionalKeysTakeDefaults) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  gguf::Contents c = file.contents();
  erase_metadata(c, "llama.attention.head_count_kv");
  erase_metadata(c, "llama.rope.dimension_count");
  erase_metadata(c, "llama.rope.freq_base");
  erase_metadata(c, "llama.context_length");
  auto hp = read_hyperparams(c);
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_EQ(hp->n_head_kv, hp->n_head);
  EXPECT_EQ(hp->n_rot, hp->head_dim_k);
  EXPECT_DOUBLE_EQ(hp->rope_freq_base, 10000.0);
  EXPECT_EQ(hp->n_ctx_train, 0u);
}

TEST(Hyperparams, InconsistentValuesAreRejected) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  {
    gguf::Contents c = file.contents();
    set_metadata(c, "llama.attention.head_count_kv", uint_value(3));
    EXPECT_TRUE(fails_mentioning(read_hyperparams(c), "not a multiple of llama.attention.head_count_kv"));
  }
  {
    gguf::Contents c = file.contents();
    set_metadata(c, "llama.rope.dimension_count", uint_value(65));
    EXPECT_TRUE(fails_mentioning(read_hyperparams(c), "llama.rope.dimension_count"));
  }
  {
    gguf::Contents c = file.contents();
    set_metadata(c, "llama.embedding_length", uint_value(128));
    set_metadata(c, "llama.rope.dimension_count", uint_value(32));
    EXPECT_TRUE(fails_mentioning(read_hyperparams(c), "token_embd.weight has shape [256, 512]"));
  }
  {
    gguf::Contents c = file.contents();
    set_metadata(c, "llama.block_count", string_value("two"));
    EXPECT_TRUE(fails_mentioning(read_hyperparams(c), "llama.block_count"));
  }
  {
    gguf::Contents c = file.contents();
    set_metadata(c, "llama.attention.layer_norm_rms_epsilon", float_value(0.0));
    EXPECT_TRUE(fails_mentioning(read_hyperparams(c), "layer_norm_rms_epsilon"));
  }
  {
    gguf::Contents c = file.contents();
    set_metadata(c, "llama.block_count", uint_value(1ull << 40));
    EXPECT_TRUE(fails_mentioning(read_hyperparams(c), "exceeds the limit"));
  }
}

TEST(Hyperparams, ExpertCountsMustBeConsistent) {
  const gguf::File file = open_fixture("qwen3moe-f16.gguf");
  gguf::Contents c = file.contents();
  set_metadata(c, "qwen3moe.expert_used_count", uint_value(9));
  EXPECT_TRUE(fails_mentioning(read_hyperparams(c), "qwen3moe.expert_used_count"));
  erase_metadata(c, "qwen3moe.expert_count");
  EXPECT_TRUE(fails_mentioning(read_hyperparams(c), "qwen3moe.expert_count is missing"));
}

TEST(Hyperparams, UnknownArchitectureListsSupportedOnes) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  gguf::Contents c = file.contents();
  set_metadata(c, "general.architecture", string_value("mamba"));
  auto hp = read_hyperparams(c);
  ASSERT_FALSE(hp.ok());
  EXPECT_EQ(hp.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(hp.error().message.find("mamba"), std::string::npos);
  EXPECT_NE(hp.error().message.find("qwen3moe"), std::string::npos);
}

// gpt-oss: even layers slide a window, odd ones see everything; YaRN keeps its ramp fractional.
TEST(Hyperparams, GptOssAlternatesSlidingLayersAndKeepsYarnUntruncated) {
  const gguf::File file = open_fixture("gpt-oss-f16.gguf");
  auto hp = read_hyperparams(file.contents());
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_EQ(hp->architecture, Architecture::kGptOss);
  EXPECT_EQ(hp->rope_style, kernels::RopeStyle::kNeox);
  EXPECT_EQ(hp->sliding_window, 10u);
  EXPECT_EQ(hp->window_of(0), 10u);
  EXPECT_EQ(hp->window_of(1), 0u);
  EXPECT_EQ(hp->window_of(2), 10u);
  EXPECT_EQ(hp->rope_scaling, RopeScaling::kYarn);
  EXPECT_DOUBLE_EQ(hp->yarn.factor, 32.0);
  EXPECT_DOUBLE_EQ(hp->yarn.original_context, 4096.0);
  EXPECT_FALSE(hp->yarn.truncate);
  EXPECT_EQ(hp->n_expert, 4u);
  EXPECT_EQ(hp->n_expert_used, 2u);

  // The window is what makes the layers differ: a file without it is refused, not run wrong.
  gguf::Contents c = file.contents();
  erase_metadata(c, "gpt-oss.attention.sliding_window");
  auto without = read_hyperparams(c);
  ASSERT_FALSE(without.ok());
  EXPECT_NE(without.error().message.find("gpt-oss.attention.sliding_window"), std::string::npos);
}

// Gemma 3: five sliding layers to one global; the sliding ones rotate with their own base and no
// scaling, the global ones with the file's base, linearly scaled.
TEST(Hyperparams, Gemma3SlidesFiveLayersInSixWithTheirOwnRopeBase) {
  const gguf::File file = open_fixture("gemma3-f16.gguf");
  auto hp = read_hyperparams(file.contents());
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_EQ(hp->architecture, Architecture::kGemma3);
  EXPECT_TRUE(hp->gemma_block);
  for (std::uint32_t layer = 0; layer < 12; ++layer) {
    EXPECT_EQ(hp->window_of(layer), layer % 6 == 5 ? 0u : 12u) << layer;
  }
  EXPECT_DOUBLE_EQ(hp->rope_freq_base, 1e6);
  EXPECT_DOUBLE_EQ(hp->rope_freq_base_sliding, 1e4);
  EXPECT_EQ(hp->rope_scaling, RopeScaling::kLinear);
  EXPECT_DOUBLE_EQ(hp->rope_scaling_factor, 8.0);
}

TEST(Hyperparams, LinearAndYarnRopeScalingAreReadAndOtherKindsRefused) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  gguf::Contents c = file.contents();
  set_metadata(c, "llama.rope.scaling.type", string_value("linear"));
  set_metadata(c, "llama.rope.scaling.factor", float_value(4.0));
  auto hp = read_hyperparams(c);
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_EQ(hp->rope_scaling, RopeScaling::kLinear);
  EXPECT_DOUBLE_EQ(hp->rope_scaling_factor, 4.0);

  // YaRN needs the context it extends; the betas have defaults.
  set_metadata(c, "llama.rope.scaling.type", string_value("yarn"));
  auto yarn = read_hyperparams(c);
  ASSERT_FALSE(yarn.ok());
  EXPECT_EQ(yarn.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(yarn.error().message.find("llama.rope.scaling.original_context_length"), std::string::npos);
  set_metadata(c, "llama.rope.scaling.original_context_length", uint_value(8192));
  yarn = read_hyperparams(c);
  ASSERT_TRUE(yarn.ok()) << yarn.error().message;
  EXPECT_EQ(yarn->rope_scaling, RopeScaling::kYarn);
  EXPECT_DOUBLE_EQ(yarn->yarn.factor, 4.0);
  EXPECT_DOUBLE_EQ(yarn->yarn.original_context, 8192.0);
  EXPECT_DOUBLE_EQ(yarn->yarn.beta_fast, 32.0);
  EXPECT_DOUBLE_EQ(yarn->yarn.beta_slow, 1.0);
  EXPECT_TRUE(yarn->yarn.truncate);  // only gpt-oss keeps the ramp's ends fractional

  set_metadata(c, "llama.rope.scaling.type", string_value("longrope"));
  auto other = read_hyperparams(c);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(other.error().message.find("longrope"), std::string::npos);
}

}  // namespace
}  // namespace pensieve::model
