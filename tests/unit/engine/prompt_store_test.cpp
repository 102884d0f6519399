// The prompt store on a real model: what is saved comes back bit for bit (the next tokens'
// logits equal those of a sequence that computed everything), whole granules only, superseded
// prefixes and the oldest files beyond the budget are dropped, and files of another model are
// refused.
#include "engine/prompt_store.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <numeric>

#include "engine/model_backend.hpp"

namespace pensieve::engine {
namespace {

class PromptStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = model::Model::load(std::string(PENSIEVE_FIXTURES) + "/models/llama-q8_0.gguf");
    ASSERT_TRUE(model.ok()) << model.error().message;
    model_ = std::move(*model);
    auto backend = ModelBackend::create(*model_, 512, kernels::KvType::kF16, 64, 64);  // room for a few
    ASSERT_TRUE(backend.ok());
    backend_ = std::move(*backend);
    dir_ = std::filesystem::temp_directory_path() / ("pensieve-store-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<PromptStore> open(std::uint64_t max_bytes = 1ull << 30) {
    auto store = PromptStore::open(
        *backend_,
        {.cache_dir = dir_, .max_bytes = max_bytes, .min_tokens = 64, .warn = [this](const std::string& m) {
           warnings_.push_back(m);
         }});
    EXPECT_TRUE(store.ok()) << store.error().message;
    return std::move(*store);
  }

  // A sequence holding `tokens`, and the logits of `next` after them.
  std::unique_ptr<Sequence> computed(const std::vector<std::int32_t>& tokens) {
    auto seq = backend_->create_sequence();
    EXPECT_TRUE(seq.ok());
    EXPECT_TRUE(backend_->forward(**seq, tokens, {}).ok());
    return std::move(*seq);
  }
  std::vector<float> next_logits(Sequence& seq, std::int32_t next) {
    std::vector<float> logits(static_cast<std::size_t>(backend_->vocab_size()));
    EXPECT_TRUE(backend_->forward(seq, std::span(&next, 1), logits).ok());
    return logits;
  }

  static std::vector<std::int32_t> tokens(std::size_t n, std::int32_t seed) {
    std::vector<std::int32_t> t(n);
    for (std::size_t i = 0; i < n; ++i)
      t[i] = static_cast<std::int32_t>((i * 37 + static_cast<std::size_t>(seed) * 11) % 400 + 1);
    return t;
  }

  std::unique_ptr<model::Model> model_;
  std::unique_ptr<ModelBackend> backend_;
  std::filesystem::path dir_;
  std::vector<std::string> warnings_;
};

TEST_F(PromptStoreTest, ARestoredPrefixContinuesBitForBit) {
  const auto prompt = tokens(200, 1);  // 3 whole granules of 64, and 8 tokens more
  auto original = computed(prompt);
  {
    auto store = open();
    ASSERT_TRUE(store->save(prompt, *original).ok());
    EXPECT_EQ(store->entries(), 1u);
    const auto file = std::filesystem::directory_iterator(store->folder())->path();
    EXPECT_EQ(store->bytes(), std::filesystem::file_size(file));
  }
  auto store = open();  // a restart: read from the folder
  ASSERT_EQ(store->entries(), 1u);
  std::vector<std::int32_t> next_turn = prompt;
  next_turn.insert(next_turn.end(), {5, 6, 7});
  const auto match = store->best_match(next_turn);
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->tokens, 192u);  // whole granules only
  auto restored = backend_->create_sequence();
  ASSERT_TRUE(restored.ok());
  ASSERT_TRUE(store->load(*match, **restored).ok());
  EXPECT_EQ((*restored)->size(), 192u);

  // Computing the rest after the restored prefix gives the bits of computing it all.
  const std::vector<std::int32_t> rest(next_turn.begin() + 192, next_turn.end() - 1);
  ASSERT_TRUE(backend_->forward(**restored, rest, {}).ok());
  const std::vector<std::int32_t> all(next_turn.begin(), next_turn.end() - 1);
  auto reference = computed(all);
  const auto got = next_logits(**restored, next_turn.back());
  const auto want = next_logits(*reference, next_turn.back());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(PromptStoreTest, NoMatchBelowAGranuleOrForTheLastToken) {
  const auto prompt = tokens(128, 2);
  auto seq = computed(prompt);
  auto store = open();
  ASSERT_TRUE(store->save(prompt, *seq).ok());
  // The whole saved prompt again: its last token must be computed, so one granule less is used.
  const auto same = store->best_match(prompt);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->tokens, 64u);
  std::vector<std::int32_t> differs = prompt;
  differs[40] += 1;
  EXPECT_FALSE(store->best_match(differs).has_value());
  EXPECT_FALSE(store->best_match({}).has_value());
}

TEST_F(PromptStoreTest, SupersededPrefixesAndTheOldestBeyondTheBudgetAreDropped) {
  auto store = open();
  const auto a = tokens(128, 3);
  auto seq_a = computed(a);
  ASSERT_TRUE(store->save(std::span(a).first(64), *seq_a).ok());
  ASSERT_TRUE(store->save(a, *seq_a).ok());  // holds the first: one file left
  EXPECT_EQ(store->entries(), 1u);
  ASSERT_TRUE(store->save(std::span(a).first(64), *seq_a).ok());  // already held: nothing new
  EXPECT_EQ(store->entries(), 1u);
  const std::uint64_t one = store->bytes();

  const auto b = tokens(128, 4), c = tokens(128, 5);
  auto seq_b = computed(b), seq_c = computed(c);
  auto small = open(2 * one + one / 2);  // room for two
  ASSERT_EQ(small->entries(), 1u);
  ASSERT_TRUE(small->save(b, *seq_b).ok());
  ASSERT_TRUE(small->save(c, *seq_c).ok());
  EXPECT_EQ(small->entries(), 2u);
  EXPECT_FALSE(small->best_match(a).has_value()) << "the oldest went";
  EXPECT_TRUE(small->best_match(b).has_value());
  EXPECT_TRUE(small->best_match(c).has_value());
}

TEST_F(PromptStoreTest, FilesOfAnotherModelAreRefusedAndDeleted) {
  const auto prompt = tokens(128, 6);
  auto seq = computed(prompt);
  std::filesystem::path saved;
  {
    auto store = open();
    ASSERT_TRUE(store->save(prompt, *seq).ok());
    saved = std::filesystem::directory_iterator(store->folder())->path();
  }
  // The same bytes under another model's folder: its header names this model.
  auto other_model = model::Model::load(std::string(PENSIEVE_FIXTURES) + "/models/llama-q4_0.gguf");
  ASSERT_TRUE(other_model.ok());
  auto other = ModelBackend::create(**other_model, 512, kernels::KvType::kF16, 64, 64);
  ASSERT_TRUE(other.ok());
  ASSERT_NE((*other)->cache_identity(), backend_->cache_identity());
  const auto foreign = dir_ / (*other)->cache_identity() / saved.filename();
  std::filesystem::create_directories(foreign.parent_path());
  std::filesystem::copy_file(saved, foreign);
  auto store =
      PromptStore::open(**other, {.cache_dir = dir_, .min_tokens = 64, .warn = [this](const std::string& m) {
                                    warnings_.push_back(m);
                                  }});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->entries(), 0u);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("another model"), std::string::npos) << warnings_[0];
  EXPECT_FALSE(std::filesystem::exists(foreign));
}

}  // namespace
}  // namespace pensieve::engine
