#include "engine/model_backend.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "engine/scheduler.hpp"
#include "support/derived_fixtures.hpp"

namespace pensieve::engine {
namespace {

class Collect : public GenerationObserver {
 public:
  bool on_token(std::int32_t t) override {
    tokens.push_back(t);
    return true;
  }
  void on_finished(const GenerationResult& r) override { done.set_value(r); }
  std::vector<std::int32_t> tokens;
  std::promise<GenerationResult> done;
};

// Greedy decoding through the scheduler (chunked prompt, last-row logits, one token per step)
// reproduces the reference continuation of each fixture model.
TEST(ModelBackend, GreedyMatchesReferenceContinuation) {
  std::ifstream in(std::string(PENSIEVE_FIXTURES) + "/models/manifest.json");
  ASSERT_TRUE(in.good());
  auto manifest = nlohmann::json::parse(in);
  std::size_t total_checked = 0;
  for (const std::string name : {"llama", "qwen2", "qwen3"}) {
    SCOPED_TRACE(name);
    auto& entry = manifest["models"][name];
    auto model = model::Model::load(::pensieve::testing::fixture_path("models/" + name + "-f32.gguf"));
    if (!model) model = model::Model::load(std::string(PENSIEVE_FIXTURES) + "/models/" + name + "-f16.gguf");
    ASSERT_TRUE(model.ok()) << model.error().message;
    auto backend =
        ModelBackend::create(**model, 256, kernels::KvType::kF32);  // the reference's full precision
    ASSERT_TRUE(backend.ok());
    SchedulerOptions options;
    options.prompt_chunk = 5;  // several chunks, so chunking is exercised
    auto scheduler = Scheduler::create(**backend, options);
    ASSERT_TRUE(scheduler.ok());

    GenerationRequest req;
    req.prompt = entry["greedy"]["prompt"].get<std::vector<std::int32_t>>();
    const auto expected = entry["greedy"]["continuation"].get<std::vector<std::int32_t>>();
    const auto margins = entry["greedy"]["step_margins"].get<std::vector<double>>();
    req.max_tokens = static_cast<std::int64_t>(expected.size());
    req.sampling.temperature = 0.0f;
    auto collect = std::make_shared<Collect>();
    ASSERT_TRUE((*scheduler)->submit(req, collect).ok());
    auto result = collect->done.get_future().get();
    EXPECT_EQ(result.reason, FinishReason::kMaxTokens);
    std::size_t checked = 0;
    for (std::size_t i = 0; i < expected.size() && margins[i] >= 1e-2; ++i, ++checked) {
      ASSERT_EQ(collect->tokens[i], expected[i]) << "step " << i;
    }
    total_checked += checked;
  }
  EXPECT_GT(total_checked, 10u);  // most steps have a clear winner
}

// A conversation's next turn reuses what the slot holds of it and continues exactly as a fresh
// slot computing the whole prompt does (a token's numbers do not depend on its chunk).
TEST(ModelBackend, AReusedPrefixGivesTheSameGreedyContinuation) {
  auto model = model::Model::load(std::string(PENSIEVE_FIXTURES) + "/models/llama-q8_0.gguf");
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto generate = [](Scheduler& scheduler, std::vector<std::int32_t> prompt, std::int64_t max_tokens) {
    GenerationRequest req;
    req.prompt = std::move(prompt);
    req.max_tokens = max_tokens;
    req.sampling.temperature = 0.0f;
    auto collect = std::make_shared<Collect>();
    EXPECT_TRUE(scheduler.submit(req, collect).ok());
    const GenerationResult r = collect->done.get_future().get();
    EXPECT_EQ(r.reason, FinishReason::kMaxTokens);
    return std::make_pair(collect->tokens, r.cached_prompt_tokens);
  };
  SchedulerOptions options;
  options.parallel = 1;
  options.prompt_chunk = 5;
  auto warm_backend = ModelBackend::create(**model, 128, kernels::KvType::kF16);
  ASSERT_TRUE(warm_backend.ok());
  auto warm = Scheduler::create(**warm_backend, options);
  ASSERT_TRUE(warm.ok());
  const std::vector<std::int32_t> turn1 = {1, 15, 27, 100, 7, 7, 42, 3, 88, 19, 61};
  const auto [answer1, cached1] = generate(**warm, turn1, 6);
  EXPECT_EQ(cached1, 0);
  std::vector<std::int32_t> turn2 = turn1;
  turn2.insert(turn2.end(), answer1.begin(), answer1.begin() + 4);
  turn2.insert(turn2.end(), {5, 9, 33, 12});
  const auto [answer2, cached2] = generate(**warm, turn2, 8);
  // The slot holds turn 1 and the first five answer tokens (the sixth was sampled, never computed).
  EXPECT_EQ(cached2, static_cast<std::int64_t>(turn1.size() + 4 + (answer1[4] == 5 ? 1 : 0)));

  auto cold_backend = ModelBackend::create(**model, 128, kernels::KvType::kF16);
  ASSERT_TRUE(cold_backend.ok());
  auto cold = Scheduler::create(**cold_backend, options);
  ASSERT_TRUE(cold.ok());
  const auto [fresh, cached_fresh] = generate(**cold, turn2, 8);
  EXPECT_EQ(cached_fresh, 0);
  EXPECT_EQ(answer2, fresh);
}

// Streams computed together — their decoded tokens and a prompt chunk in one forward pass, the
// prompts arriving while others decode — give the tokens each gives alone, on a quantized model.
TEST(ModelBackend, ConcurrentStreamsGiveTheTokensEachGivesAlone) {
  auto model = model::Model::load(std::string(PENSIEVE_FIXTURES) + "/models/llama-q4_k_m.gguf");
  ASSERT_TRUE(model.ok()) << model.error().message;
  const std::vector<std::vector<std::int32_t>> prompts = {
      {1, 15, 27, 100, 7, 7, 42, 3, 88, 19, 61},
      {1, 400, 12, 9, 250, 31},
      {1, 15, 27, 5, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312, 313},
  };
  auto request = [](const std::vector<std::int32_t>& prompt) {
    GenerationRequest req;
    req.prompt = prompt;
    req.max_tokens = 12;
    req.sampling.temperature = 0.0f;
    return req;
  };
  SchedulerOptions options;
  options.prompt_chunk = 4;  // prompts take several steps, interleaved with the others' decoding

  std::vector<std::vector<std::int32_t>> alone;
  for (const auto& prompt : prompts) {
    auto backend = ModelBackend::create(**model, 64, kernels::KvType::kF16, 8);
    ASSERT_TRUE(backend.ok());
    options.parallel = 1;
    auto scheduler = Scheduler::create(**backend, options);
    ASSERT_TRUE(scheduler.ok());
    auto collect = std::make_shared<Collect>();
    ASSERT_TRUE((*scheduler)->submit(request(prompt), collect).ok());
    EXPECT_EQ(collect->done.get_future().get().reason, FinishReason::kMaxTokens);
    alone.push_back(collect->tokens);
  }

  auto backend = ModelBackend::create(**model, 64, kernels::KvType::kF16, 4 + 3, 3);  // a block each
  ASSERT_TRUE(backend.ok());
  options.parallel = 3;
  auto scheduler = Scheduler::create(**backend, options);
  ASSERT_TRUE(scheduler.ok());
  // The first stream holds its first token until every job is queued, so all run together; each
  // token is numbered in the order the scheduler hands them out.
  std::promise<void> all_queued;
  std::atomic<int> order{0};
  class Numbered : public Collect {
   public:
    Numbered(std::shared_future<void> go, std::atomic<int>& order) : go_(std::move(go)), order_(order) {}
    bool on_token(std::int32_t t) override {
      if (tokens.empty() && go_.valid()) go_.wait();
      at.push_back(order_++);
      return Collect::on_token(t);
    }
    std::vector<int> at;

   private:
    std::shared_future<void> go_;
    std::atomic<int>& order_;
  };
  const std::shared_future<void> go = all_queued.get_future().share();
  std::vector<std::shared_ptr<Numbered>> streams;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    streams.push_back(std::make_shared<Numbered>(i == 0 ? go : std::shared_future<void>(), order));
    ASSERT_TRUE((*scheduler)->submit(request(prompts[i]), streams.back()).ok());
  }
  all_queued.set_value();
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(streams[i]->done.get_future().get().reason, FinishReason::kMaxTokens);
    EXPECT_EQ(streams[i]->tokens, alone[i]) << "stream " << i;
  }
  // Interleaved: every stream had its first token before any other had its last.
  for (const auto& a : streams) {
    for (const auto& b : streams) EXPECT_LT(a->at.front(), b->at.back());
  }
  // Every block back, or held by the cached sequences alone.
  EXPECT_EQ((*backend)->kv_pool().free_blocks + (*backend)->kv_pool().unpinned_only_blocks, 3u);
}

// A pool with room for little more than two jobs at once, prompts sharing a prefix that ends
// inside a block (shared blocks, copies on write, cached sequences dropped for room): every job
// runs to max_tokens, none fails for want of a block, and each gives the tokens it gives alone.
TEST(ModelBackend, ATightPoolServesJobsSharingPrefixesWithoutRunningOut) {
  auto model = model::Model::load(std::string(PENSIEVE_FIXTURES) + "/models/llama-q8_0.gguf");
  ASSERT_TRUE(model.ok()) << model.error().message;
  std::vector<std::int32_t> common(70);
  for (std::size_t i = 0; i < common.size(); ++i) common[i] = static_cast<std::int32_t>(i * 7 % 300 + 1);
  auto prompt = [&](int k) {
    std::vector<std::int32_t> p = common;
    for (int i = 0; i < 10; ++i) p.push_back(static_cast<std::int32_t>(k * 31 + i * 3 + 5));
    return p;
  };
  auto request = [](std::vector<std::int32_t> p) {
    GenerationRequest req;
    req.prompt = std::move(p);
    req.max_tokens = 40;  // 80 + 40 tokens: 2 blocks each
    req.sampling.temperature = 0.0f;
    return req;
  };
  SchedulerOptions options;
  options.prompt_chunk = 16;

  auto lone_backend = ModelBackend::create(**model, 256, kernels::KvType::kF16, 16 + 1, 4);
  ASSERT_TRUE(lone_backend.ok());
  options.parallel = 1;
  auto lone = Scheduler::create(**lone_backend, options);
  ASSERT_TRUE(lone.ok());
  std::vector<std::vector<std::int32_t>> alone;
  for (int k = 0; k < 8; ++k) {
    auto collect = std::make_shared<Collect>();
    ASSERT_TRUE((*lone)->submit(request(prompt(k)), collect).ok());
    ASSERT_EQ(collect->done.get_future().get().reason, FinishReason::kMaxTokens);
    alone.push_back(collect->tokens);
  }

  auto backend = ModelBackend::create(**model, 256, kernels::KvType::kF16, 16 + 3, 5);
  ASSERT_TRUE(backend.ok());
  options.parallel = 3;
  auto scheduler = Scheduler::create(**backend, options);
  ASSERT_TRUE(scheduler.ok());
  std::vector<std::shared_ptr<Collect>> jobs;
  for (int k = 0; k < 8; ++k) {
    jobs.push_back(std::make_shared<Collect>());
    ASSERT_TRUE((*scheduler)->submit(request(prompt(k)), jobs.back()).ok());
  }
  std::int64_t reused = 0;
  for (int k = 0; k < 8; ++k) {
    const GenerationResult r = jobs[static_cast<std::size_t>(k)]->done.get_future().get();
    EXPECT_EQ(r.reason, FinishReason::kMaxTokens) << "job " << k << ": " << (r.error ? r.error->message : "");
    EXPECT_EQ(jobs[static_cast<std::size_t>(k)]->tokens, alone[static_cast<std::size_t>(k)]) << "job " << k;
    reused += r.cached_prompt_tokens;
  }
  EXPECT_GT(reused, 0) << "later jobs shared the common prefix";
}

}  // namespace
}  // namespace pensieve::engine
