#include "engine/model_backend.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <future>

#include <nlohmann/json.hpp>

#include "engine/scheduler.hpp"

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
    auto model = model::Model::load(std::string(PENSIEVE_FIXTURES) + "/models/" + name + "-f32.gguf");
    if (!model) model = model::Model::load(std::string(PENSIEVE_FIXTURES) + "/models/" + name + "-f16.gguf");
    ASSERT_TRUE(model.ok()) << model.error().message;
    ModelBackend backend(**model, 256, kernels::KvType::kF32);  // the reference's full precision
    SchedulerOptions options;
    options.prompt_chunk = 5;  // several chunks, so chunking is exercised
    auto scheduler = Scheduler::create(backend, options);
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

}  // namespace
}  // namespace pensieve::engine
