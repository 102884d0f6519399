#include "engine/serving_memory.hpp"

#include <gtest/gtest.h>

#include "memory/byte_size.hpp"
#include "model/model.hpp"

namespace pensieve::engine {
namespace {

using memory::kGiB;
using memory::kMiB;

// The qwen3 fixture: 2 layers, 4 query and 2 KV heads of 128, embedding 256, feed-forward 512,
// vocabulary 512, RoPE over 128 dimensions, trained context 4096.
class ServingMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    auto file = gguf::File::open(std::string(PENSIEVE_FIXTURES) + "/models/qwen3-q8_0.gguf");
    ASSERT_TRUE(file.ok()) << file.error().message;
    auto read = model::read_hyperparams(file->contents());
    ASSERT_TRUE(read.ok()) << read.error().message;
    hp = *read;
    weights = tensor_data_bytes(file->contents());
    file_size = file->file_size();
  }
  model::Hyperparams hp;
  std::uint64_t weights = 0;
  std::uint64_t file_size = 0;
};

TEST_F(ServingMemory, HandComputedFiguresForTheFixture) {
  ASSERT_EQ(hp.n_layer, 2u);
  ASSERT_EQ(hp.n_head_kv, 2u);
  EXPECT_GT(weights, file_size * 9 / 10) << "tensor data is nearly all of the file";
  EXPECT_LT(weights, file_size);

  // Serving's f16 cache, attention scratch planned for 2 threads.
  const auto e = serving_memory(hp, weights, {1000, 3, 64}, {kernels::KvType::kF16, 2});
  // KV: 2 layers × 2 heads × (128 + 128) × 2 bytes = 2 KiB a token, allocated in blocks of 64
  // tokens: 1000 tokens take 16 blocks, 1024 tokens' worth.
  EXPECT_EQ(e.kv_bytes_per_token, 2048u);
  EXPECT_EQ(e.kv_bytes, 3u * 1024 * 2048);
  // One workspace for all slots, of 64 prompt rows + one decoded token per slot = 67 rows, in
  // floats: each row's position; residual, norm and block output 3 × 67 × 256; q and attention
  // output 2 × 67 × 512; projected k and v 2 × 67 × 256; feed-forward 2 × 67 × 512; RoPE cos/sin
  // 2 × 67 × 64. Plus the quantized matmul inputs: for each of the block input (256 wide),
  // attention output and SwiGLU product (512 wide), 67 rows in both 8-bit forms, 40 bytes per 32
  // values and 320 per 256.
  const std::uint64_t rows = 67;
  const std::uint64_t quantized =
      rows * (256 / 32 * 40 + 256 / 256 * 320) + 2 * rows * (512 / 32 * 40 + 512 / 256 * 320);
  // Attention tiles: 2 query heads share each KV head, so a query tile holds up to 128 tokens
  // (256 rows); here it holds all 67 rows of a step, 134 rows. Per thread: queries 134 × 128, a
  // key tile 128 × 64, a value tile 64 × 128, scores 134 × 64, accumulators 134 × 128, maxima and
  // sums 2 × 134, each buffer rounded up to 16 floats (maxima and sums to 144). Split decoding (up
  // to 4 tasks per thread, each a range of the keys: 8 splits) keeps 8 splits × 4 query heads ×
  // (128 + 2) partial floats; 16 floats of alignment slack.
  const std::uint64_t attention =
      2 * (134 * 128 + 128 * 64 + 64 * 128 + 134 * 64 + 134 * 128 + 2 * 144) + 8 * 4 * 130 + 16;
  // The kernels' scratch on each of the 2 threads for inputs up to 512 wide: AVX2 Q6_K's transposed
  // activations, 67 rows × 2 blocks × 320 bytes = 42880 (more than AVX-512's 4 panels × 20 × 512),
  // and AVX-512's per-input figures, 67 rows × 128 bytes (512 / 16 groups × 4) = 8576; each held
  // with a quarter more, in 64-byte steps.
  const std::uint64_t kernel = 2 * ((42880 + 10720 + 63) / 64 * 64 + (8576 + 2144 + 63) / 64 * 64);
  const std::uint64_t workspace =
      (rows + 3 * rows * 256 + 2 * rows * 512 + 2 * rows * 256 + 2 * rows * 512 + 2 * rows * 64 + attention) *
          4 +
      quantized + kernel;
  // And each slot's row of 512 logits for the step.
  const std::uint64_t scratch = workspace + 3 * 512 * 4;
  EXPECT_EQ(e.scratch_bytes, scratch);
  EXPECT_EQ(e.weights_bytes, weights);
  EXPECT_EQ(e.total_bytes, weights + 3u * 1024 * 2048 + scratch);
  EXPECT_EQ(e.plan.ctx_size, 1000u);
}

TEST_F(ServingMemory, KvCacheBytesFollowTheElementType) {
  // 2 layers × 2 KV heads × (128 + 128) values a token: 4 bytes each in f32, 2 in f16, 34 per 32
  // in q8_0; 1000 tokens in 16 blocks of 64 (each a whole number of pages here).
  EXPECT_EQ(serving_memory(hp, weights, {1000, 1, 64}, {kernels::KvType::kF32, 2}).kv_bytes, 1024u * 4096);
  EXPECT_EQ(serving_memory(hp, weights, {1000, 1, 64}, {kernels::KvType::kQ8_0, 2}).kv_bytes,
            1024u * 2 * 2 * (256 / 32 * 34));
  // Serving's default is f16; the scratch does not depend on the element type.
  const auto f16 = serving_memory(hp, weights, {1000, 1, 64});
  EXPECT_EQ(f16.kv_bytes, 1024u * 2048);
  EXPECT_EQ(f16.scratch_bytes,
            serving_memory(hp, weights, {1000, 1, 64}, {kernels::KvType::kQ8_0, 0}).scratch_bytes);
}

TEST_F(ServingMemory, ParseContextRequest) {
  EXPECT_EQ(parse_context_request("0")->kind, ContextRequest::Kind::kTrained);
  EXPECT_EQ(parse_context_request("auto")->kind, ContextRequest::Kind::kAuto);
  auto n = parse_context_request("8192");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->kind, ContextRequest::Kind::kTokens);
  EXPECT_EQ(n->tokens, 8192u);
  for (const char* bad : {"", "-1", "4k", "auto ", "1e3"}) {
    auto r = parse_context_request(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("--ctx-size"), std::string::npos);
  }
}

TEST_F(ServingMemory, PlanUsesTheTrainedContextAndChecksTheFit) {
  const MemoryBudget plenty{true, 16 * kGiB, 2 * kGiB};
  auto plan = plan_serving(hp, weights, {}, 4, plenty);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->ctx_size, 4096u);
  ASSERT_TRUE(plan->checked);
  EXPECT_TRUE(plan->fit.fits) << plan->fit.message;
  EXPECT_EQ(plan->estimate.total_bytes, serving_memory(hp, weights, {4096, 4, SlotConfig{}.batch_tokens}).total_bytes);
  EXPECT_EQ(plan->fit.estimate.total_bytes, plan->estimate.total_bytes);

  // 32 MiB of f16 KV cache (4 slots × 4096 tokens × 2 KiB) cannot fit in 24 MiB.
  const MemoryBudget tight{true, 2 * kGiB + 24 * kMiB, 2 * kGiB};
  auto refused = plan_serving(hp, weights, {}, 4, tight);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->fit.fits);
  for (const char* needle : {"does not fit", "KV cache 32.0 MiB", "context 4096", "parallel 4",
                             "24.0 MiB can be used", "2.00 GiB kept free", "--ctx-size", "--parallel"}) {
    EXPECT_NE(refused->fit.message.find(needle), std::string::npos) << needle << ": " << refused->fit.message;
  }

  // Without a reading the plan stands unchecked.
  auto unknown = plan_serving(hp, weights, {ContextRequest::Kind::kTokens, 512}, 1, MemoryBudget{});
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->checked);
  EXPECT_EQ(unknown->ctx_size, 512u);
}

TEST_F(ServingMemory, AutoPicksTheLargestContextThatFits) {
  const MemoryBudget budget{true, 2 * kGiB + 20 * kMiB, 2 * kGiB};
  auto plan = plan_serving(hp, weights, {ContextRequest::Kind::kAuto, 0}, 2, budget);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->ctx_size % 256, 0u);
  EXPECT_TRUE(plan->fit.fits);
  EXPECT_LE(plan->estimate.total_bytes, 20 * kMiB);
  EXPECT_GT(serving_memory(hp, weights, {plan->ctx_size + 256, 2, SlotConfig{}.batch_tokens}).total_bytes, 20 * kMiB);

  auto capped = plan_serving(hp, weights, {ContextRequest::Kind::kAuto, 0}, 2, {true, 64 * kGiB, 2 * kGiB});
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->ctx_size, 4096u) << "never beyond the trained context";

  auto nothing =
      plan_serving(hp, weights, {ContextRequest::Kind::kAuto, 0}, 2, {true, 2 * kGiB + kMiB, 2 * kGiB});
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(nothing.error().message.find("no context size fits"), std::string::npos)
      << nothing.error().message;

  auto blind = plan_serving(hp, weights, {ContextRequest::Kind::kAuto, 0}, 2, MemoryBudget{});
  ASSERT_FALSE(blind.ok());
  EXPECT_NE(blind.error().message.find("needs a memory reading"), std::string::npos);
}

TEST_F(ServingMemory, RefusesContextsBeyondTheEngine) {
  auto r =
      plan_serving(hp, weights, {ContextRequest::Kind::kTokens, std::uint64_t{1} << 40}, 1, MemoryBudget{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("beyond the engine's limit"), std::string::npos);
  EXPECT_FALSE(plan_serving(hp, weights, {}, 0, MemoryBudget{}).ok());
}

TEST_F(ServingMemory, RequestFiguresMatchTheModel) {
  const auto f = model_figures(hp, weights);
  EXPECT_TRUE(memory::validate(f).ok());
  EXPECT_EQ(memory::kv_bytes_per_token(f), serving_memory(hp, weights, {100, 1, 64}).kv_bytes_per_token);
  for (kernels::KvType type : {kernels::KvType::kF32, kernels::KvType::kF16, kernels::KvType::kQ8_0}) {
    EXPECT_EQ(memory::kv_bytes_per_token(model_figures(hp, weights, type)),
              serving_memory(hp, weights, {100, 1, 64}, {type, 0}).kv_bytes_per_token);
  }
  EXPECT_EQ(f.n_vocab, 512u);
  EXPECT_EQ(f.weights_bytes, weights);
}

}  // namespace
}  // namespace pensieve::engine
