#include "memory/estimate.hpp"

#include <gtest/gtest.h>

#include "memory/byte_size.hpp"

namespace pensieve::memory {
namespace {

// Llama-3-8B's published shape; weights as a Q4_K_M file would hold them.
ModelFigures llama3_8b() {
  ModelFigures m;
  m.n_layers = 32;
  m.n_heads = 32;
  m.n_kv_heads = 8;
  m.head_dim_k = 128;
  m.head_dim_v = 128;
  m.n_embd = 4096;
  m.n_ff = 14336;
  m.n_vocab = 128256;
  m.n_ctx_train = 8192;
  m.kv_element_bytes = 2;
  m.weights_bytes = 4920734720;
  return m;
}

TEST(Estimate, KvBytesPerToken) {
  // 32 layers × 8 KV heads × (128 + 128) × 2 bytes.
  EXPECT_EQ(kv_bytes_per_token(llama3_8b()), 131072u);
  // Qwen2.5-0.5B: 24 layers × 2 KV heads × (64 + 64) × 2 bytes.
  ModelFigures qwen = llama3_8b();
  qwen.n_layers = 24;
  qwen.n_heads = 14;
  qwen.n_kv_heads = 2;
  qwen.head_dim_k = qwen.head_dim_v = 64;
  EXPECT_EQ(kv_bytes_per_token(qwen), 12288u);
  // An f32 cache doubles it; unequal k/v head sizes (DeepSeek-style) add up.
  qwen.kv_element_bytes = 4;
  EXPECT_EQ(kv_bytes_per_token(qwen), 24576u);
  qwen.head_dim_k = 192;
  qwen.head_dim_v = 128;
  EXPECT_EQ(kv_bytes_per_token(qwen), 24u * 2 * 320 * 4);
}

TEST(Estimate, RequestAddsKvForPromptPlusMaxTokensAndScratch) {
  const auto e = estimate_request(llama3_8b(), 1000, 3096, 8192);
  EXPECT_EQ(e.tokens, 4096u);
  EXPECT_EQ(e.kv_bytes, 536870912u);  // 4096 × 128 KiB = 512 MiB
  // logits 128256 × 4 + candidates 128256 × 8 + scores 32 heads × 4096 × 4
  EXPECT_EQ(e.scratch_bytes, 513024u + 1026048u + 524288u);
  EXPECT_EQ(e.total_bytes, 536870912u + 2063360u);
}

TEST(Estimate, RequestIsCappedByTheContext) {
  const auto e = estimate_request(llama3_8b(), 6000, 4096, 8192);
  EXPECT_EQ(e.tokens, 8192u);
  EXPECT_EQ(e.kv_bytes, kGiB);
  const auto huge = estimate_request(llama3_8b(), 10, UINT64_MAX, 8192);
  EXPECT_EQ(huge.tokens, 8192u);
}

TEST(Estimate, PreallocatedKvLeavesOnlyScratch) {
  const auto e = estimate_request(llama3_8b(), 1000, 3096, 8192, /*kv_preallocated=*/true);
  EXPECT_EQ(e.kv_bytes, 0u);
  EXPECT_EQ(e.total_bytes, 2063360u);
}

TEST(Estimate, BatchScratch) {
  // Per token: 3×4096 + 32×128 + 8×256 + 32×128 + 2×14336 + 32×8192 = 313344 floats.
  EXPECT_EQ(batch_scratch_bytes(llama3_8b(), 512, 8192), 512u * 313344 * 4 + 128256 * 4);
}

TEST(Estimate, LoadEstimateAddsWeightsKvAndScratch) {
  const auto e = estimate_load(llama3_8b(), {8192, 2, 512});
  EXPECT_EQ(e.weights_bytes, 4920734720u);
  EXPECT_EQ(e.kv_bytes, 2 * kGiB);  // 8192 × 2 × 128 KiB
  EXPECT_EQ(e.scratch_bytes, 642241536u + 2u * (513024 + 1026048 + 1048576));
  EXPECT_EQ(e.total_bytes, 7715635200u);
}

TEST(Estimate, LoadFitListsEveryFigureAndWhatToChange) {
  const auto fit = check_load_fit(llama3_8b(), {8192, 2, 512}, 8 * kGiB, 2 * kGiB);
  EXPECT_FALSE(fit.fits);
  EXPECT_EQ(fit.budget_bytes, 6 * kGiB);
  for (const char* needle : {"7.19 GiB", "weights 4.58 GiB", "KV cache 2.00 GiB", "context 8192",
                             "parallel 2", "scratch 617.4 MiB", "6.00 GiB can be used", "8.00 GiB available",
                             "2.00 GiB kept free", "--ctx-size 4096", "--parallel"}) {
    EXPECT_NE(fit.message.find(needle), std::string::npos) << needle << " missing from: " << fit.message;
  }
  const auto ok = check_load_fit(llama3_8b(), {4096, 2, 512}, 8 * kGiB, 2 * kGiB);
  EXPECT_TRUE(ok.fits) << ok.message;
  EXPECT_EQ(ok.estimate.total_bytes, 6372409344u);
}

TEST(Estimate, WeightsAloneTooBigSaysSo) {
  const auto fit = check_load_fit(llama3_8b(), {512, 1, 512}, 5 * kGiB, 2 * kGiB);
  EXPECT_FALSE(fit.fits);
  EXPECT_NE(fit.message.find("smaller quantization"), std::string::npos) << fit.message;
}

TEST(Estimate, AutoContextIsTheLargestThatFits) {
  // Budget 6 GiB − weights leaves room for 4315 tokens at parallel 2: 4096 in steps of 256.
  auto ctx = auto_context_size(llama3_8b(), {0, 2, 512}, 8 * kGiB, 2 * kGiB);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_EQ(*ctx, 4096u);
  EXPECT_FALSE(check_load_fit(llama3_8b(), {4352, 2, 512}, 8 * kGiB, 2 * kGiB).fits);
  // Plenty of memory: capped by the training context.
  EXPECT_EQ(*auto_context_size(llama3_8b(), {0, 1, 512}, 64 * kGiB, 2 * kGiB), 8192u);
  EXPECT_EQ(*auto_context_size(llama3_8b(), {0, 1, 512}, 64 * kGiB, 2 * kGiB, 256, 2000), 1792u);
  auto none = auto_context_size(llama3_8b(), {0, 1, 512}, 6 * kGiB, 2 * kGiB);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(none.error().message.find("weights 4.58 GiB"), std::string::npos) << none.error().message;
}

TEST(Estimate, ValidateNamesTheMissingFigure) {
  ModelFigures m = llama3_8b();
  EXPECT_TRUE(validate(m).ok());
  m.n_kv_heads = 0;
  auto s = validate(m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("n_kv_heads"), std::string::npos);
  m = llama3_8b();
  m.n_kv_heads = 64;
  EXPECT_FALSE(validate(m).ok());
}

}  // namespace
}  // namespace pensieve::memory
