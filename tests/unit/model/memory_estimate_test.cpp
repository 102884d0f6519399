#include "model/memory_estimate.hpp"

#include <gtest/gtest.h>

#include "contents_editing.hpp"
#include "core/thread_pool.hpp"
#include "model/model.hpp"

namespace pensieve::model {
namespace {

TEST(MemoryEstimate, KvCacheIsLayersTimesContextInBlocksTimesKeyAndValueWidth) {
  auto model = Model::load(testing::model_path("llama-f32.gguf"));
  ASSERT_TRUE(model.ok()) << model.error().message;
  const Hyperparams& hp = (*model)->hparams();
  const MemoryEstimate one = estimate_memory(hp, (*model)->weights_bytes(), 1000, 1);
  EXPECT_EQ(one.weights_bytes, (*model)->weights_bytes());
  // 2 layers · 1000 tokens in 16 blocks of 64 · (128 key + 128 value floats) · 4 bytes.
  EXPECT_EQ(one.kv_cache_bytes, 2u * 1024u * 256u * 4u);
  EXPECT_EQ(one.kv_cache_bytes, KvPool::bytes_for(hp, kernels::KvType::kF32, 16));
  EXPECT_GT(one.scratch_bytes, 0u);
  EXPECT_EQ(one.total(), one.weights_bytes + one.kv_cache_bytes + one.scratch_bytes);

  const MemoryEstimate three = estimate_memory(hp, (*model)->weights_bytes(), 1000, 3);
  EXPECT_EQ(three.kv_cache_bytes, 3 * one.kv_cache_bytes);
  // Three workspaces, and once the kernels' scratch of the threads they all compute on.
  const std::uint64_t kernel =
      SequenceLayout::plan(hp, 1000, {}, core::default_thread_count()).workspace.kernel_bytes;
  EXPECT_GT(kernel, 0u);
  EXPECT_EQ(three.scratch_bytes, 3 * (one.scratch_bytes - kernel) + kernel);
  EXPECT_EQ(three.weights_bytes, one.weights_bytes);

  const MemoryEstimate longer = estimate_memory(hp, (*model)->weights_bytes(), 2000, 1);
  EXPECT_EQ(longer.kv_cache_bytes, 2 * one.kv_cache_bytes);
}

TEST(MemoryEstimate, KvCacheBytesFollowTheElementType) {
  auto model = Model::load(testing::model_path("llama-f32.gguf"));
  ASSERT_TRUE(model.ok()) << model.error().message;
  const Hyperparams& hp = (*model)->hparams();
  const std::uint64_t w = (*model)->weights_bytes();
  // 2 layers · 1000 tokens in 16 blocks of 64 · 256 key and value values: 2 bytes each in f16;
  // 34 per 32 in q8_0, where a block's 2 · 64 · 8 · 34 = 34,816 bytes are rounded up to 9 pages.
  EXPECT_EQ(estimate_memory(hp, w, 1000, 1, {.kv_type = kernels::KvType::kF16}).kv_cache_bytes,
            2u * 1024u * 256u * 2u);
  EXPECT_EQ(estimate_memory(hp, w, 1000, 1, {.kv_type = kernels::KvType::kQ8_0}).kv_cache_bytes,
            16u * 9u * 4096u);
  // The attention scratch has a share per thread and does not grow with the context.
  const auto two = estimate_memory(hp, w, 1000, 1, {}, 2);
  EXPECT_GT(estimate_memory(hp, w, 1000, 1, {}, 4).scratch_bytes, two.scratch_bytes);
  EXPECT_EQ(estimate_memory(hp, w, 100000, 1, {}, 2).scratch_bytes, two.scratch_bytes);
}

// What a sequence allocates is what the estimate says: its cache in the chosen type, a pool of
// its own of ceil(n_ctx / 64) blocks.
TEST(MemoryEstimate, SequenceHoldsItsCacheInTheChosenType) {
  auto model = Model::load(testing::model_path("llama-f32.gguf"));
  ASSERT_TRUE(model.ok()) << model.error().message;
  const Hyperparams& hp = (*model)->hparams();
  for (kernels::KvType type : {kernels::KvType::kF32, kernels::KvType::kF16, kernels::KvType::kQ8_0}) {
    auto seq = (*model)->create_sequence(100, {.kv_type = type});
    ASSERT_TRUE(seq.ok()) << seq.error().message;
    EXPECT_EQ(seq->kv_type(), type);
    const KvPool& pool = *seq->kv_pool();
    EXPECT_EQ(pool.total_blocks(), 2u);
    EXPECT_EQ(std::uint64_t{pool.total_blocks()} * pool.block_bytes(),
              estimate_memory(hp, 0, 100, 1, {.kv_type = type}).kv_cache_bytes);
  }
}

// What a token of cache takes, per shape and element type, as the pool lays out its blocks (the
// figures the memory estimate takes from engine::model_figures).
TEST(MemoryEstimate, KvBytesPerTokenFollowTheShapeAndTheElementType) {
  auto per_token = [](const Hyperparams& hp, kernels::KvType type) {
    return KvPool::block_bytes_for(hp, type) / KvPool::kBlockTokens;
  };
  // Qwen2.5-0.5B: 24 layers × 2 KV heads × (64 + 64) × 2 bytes.
  Hyperparams qwen;
  qwen.n_layer = 24;
  qwen.n_head = 14;
  qwen.n_head_kv = 2;
  qwen.head_dim_k = qwen.head_dim_v = 64;
  EXPECT_EQ(per_token(qwen, kernels::KvType::kF16), 12288u);
  // An f32 cache doubles it; unequal k/v head sizes (DeepSeek-style) add up.
  EXPECT_EQ(per_token(qwen, kernels::KvType::kF32), 24576u);
  // q8_0: 34 bytes per 32 values.
  EXPECT_EQ(per_token(qwen, kernels::KvType::kQ8_0), 24u * 2 * (128 / 32) * 34);
  qwen.head_dim_k = 192;
  qwen.head_dim_v = 128;
  EXPECT_EQ(per_token(qwen, kernels::KvType::kF32), 24u * 2 * 320 * 4);
}

TEST(MemoryEstimate, MixtureOfExpertsScratchCoversExpertBuffers) {
  auto moe = Model::load(testing::kModels + "qwen3moe-f16.gguf");
  ASSERT_TRUE(moe.ok()) << moe.error().message;
  const Hyperparams& hp = (*moe)->hparams();
  Hyperparams dense = hp;
  dense.n_expert = dense.n_expert_used = 0;
  EXPECT_GT(estimate_memory(hp, 0, 512, 1).scratch_bytes, estimate_memory(dense, 0, 512, 1).scratch_bytes);
}

}  // namespace
}  // namespace pensieve::model
