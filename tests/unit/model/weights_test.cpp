#include "model/weights.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "contents_editing.hpp"

namespace pensieve::model {
namespace {

using namespace testing;

Result<Weights> bind(const gguf::Contents& c) {
  auto hp = read_hyperparams(c);
  if (!hp) return hp.error();
  return bind_weights(c, *hp);
}

TEST(Weights, BindsEveryTensorOfTheLlamaFixture) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  auto w = bind(file.contents());
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_EQ(w->layers.size(), 2u);
  EXPECT_EQ(w->layers[1].wk.rows, 128u);
  EXPECT_EQ(w->layers[1].wk.cols, 256u);
  EXPECT_EQ(w->layers[0].ffn_down.cols, 512u);
  EXPECT_NE(w->output.data, w->token_embd.data);
  EXPECT_EQ(w->rope_freqs, nullptr);
  std::uint64_t all = 0;
  for (const auto& t : file.contents().tensors) all += t.data.size();
  EXPECT_EQ(w->bytes, all);
}

// What `pensieve serve` shows while a model loads: a count that only grows, ends at the file's
// tensor data once, and is told after every tensor (a qwen3 fixture has a few dozen).
TEST(Weights, ProgressCountsUpToTheFilesTensorData) {
  const gguf::File file = open_fixture("qwen3-q8_0.gguf");
  auto hp = read_hyperparams(file.contents());
  ASSERT_TRUE(hp.ok());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
  auto w = bind_weights(file.contents(), *hp, nullptr,
                        [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); });
  ASSERT_TRUE(w.ok()) << w.error().message;
  std::uint64_t all = 0;
  for (const auto& t : file.contents().tensors) all += t.data.size();
  ASSERT_GE(calls.size(), file.contents().tensors.size() - 1);
  std::uint64_t previous = 0;
  for (const auto& [done, total] : calls) {
    EXPECT_EQ(total, all);
    EXPECT_GT(done, previous);
    previous = done;
  }
  EXPECT_EQ(calls.back().first, all);
}

TEST(Weights, MissingOutputMeansTiedEmbeddings) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  gguf::Contents c = file.contents();
  erase_tensor(c, "output.weight");
  auto w = bind(c);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->output.data, w->token_embd.data);
}

TEST(Weights, MissingOrMisshapenTensorIsNamed) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  {
    gguf::Contents c = file.contents();
    erase_tensor(c, "blk.1.ffn_up.weight");
    auto w = bind(c);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.error().message.find("blk.1.ffn_up.weight is missing"), std::string::npos)
        << w.error().message;
  }
  {
    gguf::Contents c = file.contents();
    tensor_named(c, "blk.0.attn_k.weight").dims = {128, 256, 1, 1};
    auto w = bind(c);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.error().message.find("blk.0.attn_k.weight has shape [128, 256]"), std::string::npos)
        << w.error().message;
    EXPECT_NE(w.error().message.find("[256, 128]"), std::string::npos) << w.error().message;
  }
  {
    gguf::Contents c = file.contents();
    tensor_named(c, "blk.0.attn_norm.weight").type = tensor::TensorType::kF16;
    auto w = bind(c);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.error().message.find("blk.0.attn_norm.weight"), std::string::npos) << w.error().message;
  }
}

TEST(Weights, Phi3FusedTensorsBecomeRowSlices) {
  const gguf::File file = open_fixture("phi3-f16.gguf");
  auto w = bind(file.contents());
  ASSERT_TRUE(w.ok()) << w.error().message;
  const LayerWeights& l = w->layers[0];
  EXPECT_EQ(l.wq.rows, 256u);
  EXPECT_EQ(l.wk.data, l.wq.data + 256 * l.wq.row_bytes);
  EXPECT_EQ(l.wv.data, l.wk.data + 256 * l.wk.row_bytes);
  EXPECT_EQ(l.ffn_gate.rows, 512u);
  EXPECT_EQ(l.ffn_up.data, l.ffn_gate.data + 512 * l.ffn_gate.row_bytes);
}

TEST(Weights, Qwen3MoeBindsExpertStacksAndNorms) {
  const gguf::File file = open_fixture("qwen3moe-q4_k_m.gguf");
  auto w = bind(file.contents());
  ASSERT_TRUE(w.ok()) << w.error().message;
  const LayerWeights& l = w->layers[1];
  EXPECT_EQ(l.router.rows, 8u);
  EXPECT_EQ(l.gate_exps.rows, 8u * 256u);
  EXPECT_EQ(l.down_exps.rows, 8u * 256u);
  EXPECT_EQ(l.down_exps.cols, 256u);
  EXPECT_NE(l.q_norm, nullptr);
  EXPECT_NE(l.k_norm, nullptr);
}

TEST(Weights, Llama3BindsRopeFrequencyFactors) {
  const gguf::File file = open_fixture("llama3-rope-f16.gguf");
  auto w = bind(file.contents());
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_NE(w->rope_freqs, nullptr);
  EXPECT_GT(w->rope_freqs[31], 1.0f);  // low frequencies are slowed
}

}  // namespace
}  // namespace pensieve::model
