#include "engine/bench.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace pensieve::engine {
namespace {

std::unique_ptr<model::Model> load_fixture(const std::string& file) {
  auto model = model::Model::load(std::string(PENSIEVE_FIXTURES) + "/models/" + file, {.threads = 2});
  if (!model) ADD_FAILURE() << model.error().message;
  return model ? std::move(*model) : nullptr;
}

std::uint64_t matrix_bytes(const kernels::WeightMatrix& w) {
  return std::uint64_t{w.rows} * w.row_bytes;
}

TEST(BenchStatsTest, MeanAndSampleStandardDeviation) {
  const ThroughputStats s = summarize({2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0});
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_NEAR(s.stddev, std::sqrt(32.0 / 7.0), 1e-12);  // n - 1, not n
  EXPECT_EQ(s.samples.size(), 8u);
}

TEST(BenchStatsTest, OneSampleHasNoSpread) {
  const ThroughputStats s = summarize({3.5});
  EXPECT_DOUBLE_EQ(s.mean, 3.5);
  EXPECT_DOUBLE_EQ(s.stddev, 0.0);
}

TEST(BenchTest, RunsBothTestsWithTheRequestedRepetitions) {
  auto model = load_fixture("llama-q8_0.gguf");
  ASSERT_TRUE(model);
  int progress_lines = 0;
  auto result = run_bench(
      *model, {.n_prompt = 20, .n_gen = 5, .repetitions = 2, .batch = 8, .progress = [&](const std::string&) {
                 ++progress_lines;
               }});
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_TRUE(result->prompt && result->generation);
  for (const ThroughputStats* s : {&*result->prompt, &*result->generation}) {
    ASSERT_EQ(s->samples.size(), 2u);
    for (double x : s->samples) EXPECT_TRUE(std::isfinite(x) && x > 0) << x;
    EXPECT_GT(s->mean, 0);
  }
  EXPECT_EQ(progress_lines, 2 * (1 + 2));  // a warm-up and two repetitions of each
  EXPECT_EQ(result->n_ctx, 20u);
  EXPECT_EQ(result->max_batch, 8u);
  EXPECT_EQ(result->estimate.weights_bytes, model->weights_bytes());
  EXPECT_GT(result->estimate.kv_cache_bytes, 0u);
  ASSERT_TRUE(result->peak_rss_bytes.has_value());
  EXPECT_GT(*result->peak_rss_bytes, 0u);
}

// With a probe, the tg test runs once more, each repetition between two readings, after the
// timed tests (so their samples and the peak RSS are as without it).
TEST(BenchTest, ABandwidthProbeBracketsEveryGenerationRun) {
  auto model = load_fixture("llama-q8_0.gguf");
  ASSERT_TRUE(model);
  std::vector<std::string> events;
  double next_reading = 1e9;
  auto result = run_bench(*model, {.n_prompt = 0,
                                   .n_gen = 4,
                                   .repetitions = 3,
                                   .progress = [&](const std::string& line) { events.push_back(line); },
                                   .bandwidth_probe = [&]() -> Result<double> {
                                     events.push_back("probe");
                                     next_reading += 1e9;
                                     return next_reading;
                                   }});
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_TRUE(result->generation && result->bracketed);
  EXPECT_EQ(result->generation->samples.size(), 3u);
  const BracketedDecode& b = *result->bracketed;
  ASSERT_EQ(b.tokens_per_s.size(), 3u);
  for (double x : b.tokens_per_s) EXPECT_TRUE(std::isfinite(x) && x > 0) << x;
  EXPECT_EQ(b.bandwidth, (std::vector<double>{2e9, 3e9, 4e9, 5e9}));
  // The warm-up and three timed runs are reported before the first reading.
  ASSERT_EQ(events.size(), 4u + 4u);
  EXPECT_EQ(events[3].rfind("tg4 3/3", 0), 0u) << events[3];
  for (std::size_t i = 4; i < events.size(); ++i) EXPECT_EQ(events[i], "probe");
}

TEST(BenchTest, AFailedBandwidthReadingFailsTheBench) {
  auto model = load_fixture("llama-q8_0.gguf");
  ASSERT_TRUE(model);
  auto result = run_bench(
      *model, {.n_prompt = 0, .n_gen = 2, .repetitions = 1, .bandwidth_probe = []() -> Result<double> {
                 return make_error(ErrorCode::kIo, "no buffer");
               }});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("no buffer"), std::string::npos);
}

TEST(BenchTest, ContextHoldsTheLongerTestAndBatchNeverExceedsThePrompt) {
  auto model = load_fixture("llama-q8_0.gguf");
  ASSERT_TRUE(model);
  auto result = run_bench(*model, {.n_prompt = 4, .n_gen = 9, .repetitions = 1, .batch = 512});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->n_ctx, 10u);  // the tg test's first token and its 9
  EXPECT_EQ(result->max_batch, 4u);
}

// With a depth, both tests run after that many tokens: the context holds them too, the progress
// names the depth, and a tg step's reads count the KV cache of the positions it attends to.
TEST(BenchTest, ADepthComesBeforeEveryRunAndCountsInTheReads) {
  auto model = load_fixture("llama-q8_0.gguf");
  ASSERT_TRUE(model);
  std::vector<std::string> lines;
  auto result = run_bench(
      *model,
      {.n_prompt = 10, .n_gen = 4, .depth = 70, .repetitions = 2, .progress = [&](const std::string& line) {
         lines.push_back(line);
       }});
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_TRUE(result->prompt && result->generation);
  EXPECT_EQ(result->n_ctx, 80u);
  EXPECT_EQ(result->max_batch, 70u) << "the depth in prompt-sized chunks, not a token at a time";
  ASSERT_EQ(lines.size(), 1u + 2 * (1 + 2));
  EXPECT_EQ(lines.front(), "depth 70");
  EXPECT_EQ(lines[1], "warm-up pp10 @ d70");
  EXPECT_EQ(lines[4], "warm-up tg4 @ d70");
  // f16: two bytes a value; a step attends to 71 positions and then 2 more on average.
  const model::Hyperparams& hp = model->hparams();
  const std::uint64_t per_position =
      std::uint64_t{hp.n_layer} * hp.n_head_kv * (hp.head_dim_k + hp.head_dim_v) * 2;
  EXPECT_EQ(result->kv_read_bytes_per_token, per_position * 73);

  auto without = run_bench(*model, {.n_prompt = 10, .n_gen = 4, .repetitions = 1});
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->kv_read_bytes_per_token, 0u);
}

TEST(BenchTest, ADepthWithSeveralStreamsIsAnError) {
  auto model = load_fixture("llama-q8_0.gguf");
  ASSERT_TRUE(model);
  auto result = run_bench(*model, {.n_prompt = 0, .n_gen = 4, .depth = 64, .repetitions = 1, .streams = 2});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("depth"), std::string::npos) << result.error().message;
}

TEST(BenchTest, ZeroLengthSkipsThatTest) {
  auto model = load_fixture("llama-q8_0.gguf");
  ASSERT_TRUE(model);
  auto tg_only = run_bench(*model, {.n_prompt = 0, .n_gen = 3, .repetitions = 1});
  ASSERT_TRUE(tg_only.ok()) << tg_only.error().message;
  EXPECT_FALSE(tg_only->prompt);
  EXPECT_TRUE(tg_only->generation);
  auto pp_only = run_bench(*model, {.n_prompt = 3, .n_gen = 0, .repetitions = 1});
  ASSERT_TRUE(pp_only.ok()) << pp_only.error().message;
  EXPECT_TRUE(pp_only->prompt);
  EXPECT_FALSE(pp_only->generation);
}

TEST(BenchTest, NothingToMeasureOrNoRepetitionsIsAnError) {
  auto model = load_fixture("llama-q8_0.gguf");
  ASSERT_TRUE(model);
  auto none = run_bench(*model, {.n_prompt = 0, .n_gen = 0});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("nothing to measure"), std::string::npos);
  auto no_reps = run_bench(*model, {.n_prompt = 4, .n_gen = 4, .repetitions = 0});
  ASSERT_FALSE(no_reps.ok());
  EXPECT_NE(no_reps.error().message.find("repetitions"), std::string::npos);
  EXPECT_FALSE(run_bench(*model, {.n_prompt = 4, .n_gen = 4, .batch = 0}).ok());
}

TEST(ModelFactsTest, DenseDecodeReadsEverythingButTheEmbeddingTable) {
  auto model = load_fixture("llama-q4_k_m.gguf");
  ASSERT_TRUE(model);
  const ModelFacts facts = model_facts(*model);
  const model::Weights& w = model->weights();
  const bool tied = w.output.data == w.token_embd.data;
  EXPECT_EQ(facts.decode_bytes_per_token, w.bytes - (tied ? 0 : matrix_bytes(w.token_embd)));
  std::uint64_t params = 0;
  std::uint64_t type_bytes = 0;
  for (const auto& t : model->metadata().tensors) params += t.element_count;
  for (const auto& t : facts.types) type_bytes += t.bytes;
  EXPECT_EQ(facts.params, params);
  EXPECT_EQ(type_bytes, model->weights_bytes());
  ASSERT_FALSE(facts.types.empty());
  EXPECT_EQ(facts.types.front().type, "Q4_K");  // largest share first
  for (std::size_t i = 1; i < facts.types.size(); ++i)
    EXPECT_GE(facts.types[i - 1].bytes, facts.types[i].bytes);
}

TEST(ModelFactsTest, MixtureOfExpertsDecodeReadsOnlyTheUsedExperts) {
  auto model = load_fixture("qwen3moe-q4_k_m.gguf");
  ASSERT_TRUE(model);
  const model::Hyperparams& hp = model->hparams();
  ASSERT_TRUE(hp.is_moe());
  ASSERT_LT(hp.n_expert_used, hp.n_expert);
  const model::Weights& w = model->weights();
  std::uint64_t experts = 0;
  for (const auto& l : w.layers)
    experts += matrix_bytes(l.gate_exps) + matrix_bytes(l.up_exps) + matrix_bytes(l.down_exps);
  const bool tied = w.output.data == w.token_embd.data;
  const std::uint64_t dense_read = w.bytes - (tied ? 0 : matrix_bytes(w.token_embd));
  const std::uint64_t unused = experts / hp.n_expert * (hp.n_expert - hp.n_expert_used);
  EXPECT_EQ(model_facts(*model).decode_bytes_per_token, dense_read - unused);
}

TEST(BenchTest, PeakRssIsReadable) {
  auto peak = read_peak_rss_bytes();
  ASSERT_TRUE(peak.ok()) << peak.error().message;
  EXPECT_GT(*peak, 0u);
}

}  // namespace
}  // namespace pensieve::engine
