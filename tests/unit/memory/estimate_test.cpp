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
  // An f16 cache in blocks of 64 positions: 64 × 128 KiB (engine::model_figures fills these from
  // model::KvPool; tests/unit/model checks the per-token bytes of other shapes and types).
  m.kv_block_tokens = 64;
  m.kv_block_bytes = 64 * 131072;
  m.weights_bytes = 4920734720;
  return m;
}

TEST(Estimate, KvBytesPerToken) {
  // 32 layers × 8 KV heads × (128 + 128) × 2 bytes.
  EXPECT_EQ(kv_bytes_per_token(llama3_8b()), 131072u);
}

// The pool takes a request's cache a block at a time, so admission counts whole blocks.
TEST(Estimate, RequestKvIsCountedInWholeBlocks) {
  EXPECT_EQ(kv_bytes_for_tokens(llama3_8b(), 0), 0u);
  EXPECT_EQ(kv_bytes_for_tokens(llama3_8b(), 1), 64u * 131072);
  EXPECT_EQ(kv_bytes_for_tokens(llama3_8b(), 64), 64u * 131072);
  EXPECT_EQ(kv_bytes_for_tokens(llama3_8b(), 65), 2u * 64 * 131072);
  EXPECT_EQ(estimate_request(llama3_8b(), 90, 10, 8192).kv_bytes, 2u * 64 * 131072);
}

TEST(Estimate, RequestAddsKvForPromptPlusMaxTokensAndScratch) {
  const auto e = estimate_request(llama3_8b(), 1000, 3096, 8192);
  EXPECT_EQ(e.tokens, 4096u);
  EXPECT_EQ(e.kv_bytes, 536870912u);  // 4096 × 128 KiB = 512 MiB
  // logits 128256 × 4 + sampler 128256 × 20 + scores 32 heads × 4096 × 4
  EXPECT_EQ(e.scratch_bytes, 513024u + 2565120u + 524288u);
  // 256 KiB + 1000 prompt tokens × 64 + 3096 output tokens × 32
  EXPECT_EQ(e.handling_bytes, 262144u + 64000u + 99072u);
  EXPECT_EQ(e.total_bytes, 536870912u + 3602432u + 425216u);
}

TEST(Estimate, RequestIsCappedByTheContext) {
  const auto e = estimate_request(llama3_8b(), 6000, 4096, 8192);
  EXPECT_EQ(e.tokens, 8192u);
  EXPECT_EQ(e.kv_bytes, kGiB);
  EXPECT_EQ(e.handling_bytes, 262144u + 6000u * 64 + 2192u * 32) << "output capped by the context too";
  const auto huge = estimate_request(llama3_8b(), 10, UINT64_MAX, 8192);
  EXPECT_EQ(huge.tokens, 8192u);
}

TEST(Estimate, PreallocatedKvLeavesScratchAndHandling) {
  const auto e = estimate_request(llama3_8b(), 1000, 3096, 8192, /*kv_preallocated=*/true);
  EXPECT_EQ(e.kv_bytes, 0u);
  EXPECT_EQ(e.total_bytes, 3602432u + 425216u);
}

// A hand-made estimator for Llama-3-8B at Q4_K_M: its weights, an f16 KV cache of 128 KiB a
// token, 512 MiB of activations and 4 MiB per slot.
LoadEstimate llama3_8b_load(const LoadPlan& plan) {
  LoadEstimate e;
  e.plan = plan;
  e.weights_bytes = 4920734720;
  e.kv_bytes_per_token = 131072;
  e.kv_bytes = e.kv_bytes_per_token * plan.ctx_size * plan.parallel;
  e.scratch_bytes = 512 * kMiB + plan.parallel * 4 * kMiB;
  e.total_bytes = e.weights_bytes + e.kv_bytes + e.scratch_bytes;
  return e;
}

TEST(Estimate, DescribeNamesEveryFigure) {
  const std::string text = describe(llama3_8b_load({8192, 2, 64}));
  EXPECT_EQ(text,
            "7.09 GiB (7613477888 bytes) = weights 4.58 GiB + KV cache 2.00 GiB (context 8192 × parallel 2 × "
            "128.0 KiB per token) + "
            "scratch 520.0 MiB");
}

TEST(Estimate, LoadFitListsEveryFigureAndWhatToChange) {
  // Budget 6 GiB; weights 4.58 GiB and scratch 520 MiB leave 931 MiB of KV cache: 3724 tokens
  // at parallel 2, so 3584 in steps of 256.
  const auto fit = check_load_fit(llama3_8b_load, {8192, 2, 64}, 8 * kGiB, 2 * kGiB, 8192);
  EXPECT_FALSE(fit.fits);
  EXPECT_EQ(fit.budget_bytes, 6 * kGiB);
  EXPECT_EQ(fit.estimate.total_bytes, 7613477888u);
  for (const char* needle : {"7.09 GiB", "weights 4.58 GiB", "KV cache 2.00 GiB", "context 8192",
                             "parallel 2", "scratch 520.0 MiB", "6.00 GiB can be used", "8.00 GiB available",
                             "2.00 GiB kept free", "--ctx-size 3584", "--parallel"}) {
    EXPECT_NE(fit.message.find(needle), std::string::npos) << needle << " missing from: " << fit.message;
  }
  const auto ok = check_load_fit(llama3_8b_load, {3584, 2, 64}, 8 * kGiB, 2 * kGiB, 8192);
  EXPECT_TRUE(ok.fits) << ok.message;
  EXPECT_EQ(ok.estimate.total_bytes, 6405518336u);
  EXPECT_FALSE(check_load_fit(llama3_8b_load, {3840, 2, 64}, 8 * kGiB, 2 * kGiB, 8192).fits);
}

TEST(Estimate, WeightsAloneTooBigSaysSo) {
  const auto fit = check_load_fit(llama3_8b_load, {512, 1, 64}, 5 * kGiB, 2 * kGiB, 8192);
  EXPECT_FALSE(fit.fits);
  EXPECT_NE(fit.message.find("smaller quantization"), std::string::npos) << fit.message;
  EXPECT_EQ(fit.message.find("--parallel"), std::string::npos) << "parallel is already 1: " << fit.message;
}

TEST(Estimate, AutoContextIsTheLargestThatFits) {
  auto ctx = auto_context_size(llama3_8b_load, {0, 2, 64}, 8 * kGiB, 2 * kGiB, 8192);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_EQ(*ctx, 3584u);
  // Plenty of memory: capped by the training context, in whole steps.
  EXPECT_EQ(*auto_context_size(llama3_8b_load, {0, 1, 64}, 64 * kGiB, 2 * kGiB, 8192), 8192u);
  EXPECT_EQ(*auto_context_size(llama3_8b_load, {0, 1, 64}, 64 * kGiB, 2 * kGiB, 2000), 1792u);
  // A training context shorter than one step is taken whole when it fits.
  EXPECT_EQ(*auto_context_size(llama3_8b_load, {0, 1, 64}, 64 * kGiB, 2 * kGiB, 100), 100u);
  auto none = auto_context_size(llama3_8b_load, {0, 1, 64}, 6 * kGiB, 2 * kGiB, 8192);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(none.error().message.find("weights 4.58 GiB"), std::string::npos) << none.error().message;
  auto unknown = auto_context_size(llama3_8b_load, {0, 1, 64}, 64 * kGiB, 2 * kGiB, 0);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
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
