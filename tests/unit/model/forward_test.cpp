// Model::forward's contract on a real fixture: chunking, row selection, prefix truncation,
// errors, and the debugging observer.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "contents_editing.hpp"
#include "llama_fixture.hpp"
#include "model/model.hpp"

namespace pensieve::model {
namespace {

using testing::kModels;

const std::vector<std::int32_t> kTokens = {476, 316, 345, 452, 292, 391, 420, 115, 30,  153, 145, 440,
                                           460, 5,   253, 414, 68,  402, 62,  237, 412, 154, 174, 142};

class ForwardTest : public testing::LlamaF32Test {
 protected:
  // Logits of every position of `tokens` computed in one call on a fresh sequence.
  std::vector<float> all_logits(const std::vector<std::int32_t>& tokens, std::uint32_t max_batch = 64) const {
    auto seq = model_->create_sequence(static_cast<std::uint32_t>(tokens.size()), {.max_batch = max_batch});
    EXPECT_TRUE(seq.ok());
    std::vector<std::uint32_t> rows(tokens.size());
    std::iota(rows.begin(), rows.end(), 0u);
    std::vector<float> logits(rows.size() * vocab());
    const Status s = model_->forward(*seq, tokens, rows, logits);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return logits;
  }

  static void expect_rows_equal(const float* a, const float* b, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) ASSERT_NEAR(a[i], b[i], 1e-5) << "index " << i;
  }
};

TEST_F(ForwardTest, ChunkedBatchesGiveTheSameLogitsAsOneBatch) {
  const auto whole = all_logits(kTokens);
  const auto chunked = all_logits(kTokens, 5);  // 24 tokens in chunks of 5: the last one partial
  expect_rows_equal(whole.data(), chunked.data(), whole.size());
}

TEST_F(ForwardTest, RequestedRowsInAnyOrderMatchTheFullOutput) {
  const auto whole = all_logits(kTokens);
  auto seq = model_->create_sequence(64, {.max_batch = 5});
  ASSERT_TRUE(seq.ok());
  const std::vector<std::uint32_t> rows = {23, 2, 3, 4, 17, 17};
  std::vector<float> logits(rows.size() * vocab());
  ASSERT_TRUE(model_->forward(*seq, kTokens, rows, logits).ok());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    expect_rows_equal(logits.data() + i * vocab(), whole.data() + rows[i] * vocab(), vocab());
  }
}

TEST_F(ForwardTest, NoRowsRequestedStillFillsTheCache) {
  const auto whole = all_logits(kTokens);
  auto seq = model_->create_sequence(64);
  ASSERT_TRUE(seq.ok());
  const std::span<const std::int32_t> all(kTokens);
  ASSERT_TRUE(model_->forward(*seq, all.first(20), {}, {}).ok());
  EXPECT_EQ(seq->size(), 20u);
  const std::uint32_t last = 3;
  std::vector<float> logits(vocab());
  ASSERT_TRUE(model_->forward(*seq, all.subspan(20), std::span(&last, 1), logits).ok());
  expect_rows_equal(logits.data(), whole.data() + 23 * vocab(), vocab());
}

TEST_F(ForwardTest, TruncateKeepsThePrefixAndClearStartsOver) {
  const auto whole = all_logits(kTokens);
  auto seq = model_->create_sequence(64);
  ASSERT_TRUE(seq.ok());
  const std::span<const std::int32_t> all(kTokens);
  // Fill with a different continuation after position 10, then drop it and compute the real one.
  std::vector<std::int32_t> detour(kTokens.begin(), kTokens.begin() + 10);
  detour.insert(detour.end(), {1, 2, 3, 4, 5, 6, 7});
  ASSERT_TRUE(model_->forward(*seq, detour, {}, {}).ok());
  seq->truncate(10);
  EXPECT_EQ(seq->size(), 10u);
  seq->truncate(50);  // longer than the sequence: no-op
  EXPECT_EQ(seq->size(), 10u);
  std::vector<std::uint32_t> rows(14);
  std::iota(rows.begin(), rows.end(), 0u);
  std::vector<float> logits(rows.size() * vocab());
  ASSERT_TRUE(model_->forward(*seq, all.subspan(10), rows, logits).ok());
  expect_rows_equal(logits.data(), whole.data() + 10 * vocab(), logits.size());

  seq->clear();
  EXPECT_EQ(seq->size(), 0u);
  std::vector<float> first(vocab());
  const std::uint32_t row0 = 0;
  ASSERT_TRUE(model_->forward(*seq, all.first(1), std::span(&row0, 1), first).ok());
  expect_rows_equal(first.data(), whole.data(), vocab());
}

// Sequences computed together in one batch (one at its next decoded token, two at prompt chunks,
// at different positions) get exactly the bits each gets computed alone.
TEST_F(ForwardTest, BatchOfSequencesGivesEachTheBitsItGetsAlone) {
  const std::span<const std::int32_t> all(kTokens);
  auto workspace = model_->create_workspace(16);
  ASSERT_TRUE(workspace.ok());
  // Alone: a sequence with its own workspace; in batches: one without, prefilled in the shared one.
  auto prefilled = [&](std::span<const std::int32_t> prefix, std::uint32_t max_batch) {
    auto seq = model_->create_sequence(64, {.max_batch = max_batch});
    EXPECT_TRUE(seq.ok());
    const BatchPart part{&*seq, prefix, {}, {}};
    EXPECT_TRUE((max_batch != 0 ? model_->forward(*seq, prefix, {}, {})
                                : model_->forward_batch(*workspace, std::span(&part, 1)))
                    .ok());
    return std::move(*seq);
  };
  const auto a_prefix = all.first(10), a_chunk = all.subspan(10, 4);
  const auto b_prefix = all.subspan(5, 12), b_next = all.subspan(20, 1);
  const auto c_prefix = all.first(3), c_chunk = all.subspan(3, 5);

  Sequence a_alone = prefilled(a_prefix, 8), b_alone = prefilled(b_prefix, 8),
           c_alone = prefilled(c_prefix, 8);
  std::vector<float> a_expected(vocab()), b_expected(vocab()), c_expected(vocab());
  const std::uint32_t last_of_a = 3, only = 0, last_of_c = 4;
  ASSERT_TRUE(model_->forward(a_alone, a_chunk, std::span(&last_of_a, 1), a_expected).ok());
  ASSERT_TRUE(model_->forward(b_alone, b_next, std::span(&only, 1), b_expected).ok());
  ASSERT_TRUE(model_->forward(c_alone, c_chunk, std::span(&last_of_c, 1), c_expected).ok());

  Sequence a = prefilled(a_prefix, 0), b = prefilled(b_prefix, 0), c = prefilled(c_prefix, 0);
  std::vector<float> logits(3 * vocab());  // b's row, a's, c's: one output projection for all
  const BatchPart parts[] = {
      {&b, b_next, std::span(&only, 1), std::span(logits).first(vocab())},
      {&a, a_chunk, std::span(&last_of_a, 1), std::span(logits).subspan(vocab(), vocab())},
      {&c, c_chunk, std::span(&last_of_c, 1), std::span(logits).subspan(2 * vocab())},
  };
  ASSERT_TRUE(model_->forward_batch(*workspace, parts).ok());
  EXPECT_EQ(a.size(), 14u);
  EXPECT_EQ(b.size(), 13u);
  EXPECT_EQ(c.size(), 8u);
  EXPECT_EQ(std::memcmp(logits.data(), b_expected.data(), vocab() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(logits.data() + vocab(), a_expected.data(), vocab() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(logits.data() + 2 * vocab(), c_expected.data(), vocab() * sizeof(float)), 0);
}

TEST_F(ForwardTest, BadBatchesAreErrorsAndAppendToNoSequence) {
  auto a = model_->create_sequence(8, {.max_batch = 0});
  auto b = model_->create_sequence(8, {.max_batch = 0});
  auto workspace = model_->create_workspace(4);
  ASSERT_TRUE(a.ok() && b.ok() && workspace.ok());
  const std::vector<std::int32_t> two = {5, 6}, three = {1, 2, 3}, bad = {7, -1};
  const BatchPart twice[] = {{&*a, two, {}, {}}, {&*a, two, {}, {}}};
  EXPECT_FALSE(model_->forward_batch(*workspace, twice).ok());
  const BatchPart too_many[] = {{&*a, two, {}, {}}, {&*b, three, {}, {}}};  // 5 rows, room for 4
  EXPECT_FALSE(model_->forward_batch(*workspace, too_many).ok());
  const BatchPart one_bad[] = {{&*a, two, {}, {}}, {&*b, bad, {}, {}}};
  const Status s = model_->forward_batch(*workspace, one_bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("batch part 1"), std::string::npos) << s.error().message;
  EXPECT_EQ(a->size(), 0u);
  EXPECT_EQ(b->size(), 0u);
  auto other = Model::load(testing::model_path("llama-f32.gguf"));
  ASSERT_TRUE(other.ok());
  auto foreign = (*other)->create_workspace(4);
  ASSERT_TRUE(foreign.ok());
  const BatchPart fine[] = {{&*a, two, {}, {}}};
  EXPECT_FALSE(model_->forward_batch(*foreign, fine).ok());
  ASSERT_TRUE(model_->forward_batch(*workspace, fine).ok());
  EXPECT_EQ(a->size(), 2u);
}

TEST_F(ForwardTest, BadInputsAreErrorsAndAppendNothing) {
  auto seq = model_->create_sequence(8);
  ASSERT_TRUE(seq.ok());
  std::vector<float> logits(vocab());
  const std::uint32_t row0 = 0;
  const std::vector<std::int32_t> negative = {5, -1};
  const std::vector<std::int32_t> too_big = {static_cast<std::int32_t>(vocab())};
  const std::vector<std::int32_t> nine(9, 5);
  const std::vector<std::int32_t> two = {5, 6};

  auto err = model_->forward(*seq, negative, std::span(&row0, 1), logits);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().code, ErrorCode::kOutOfRange);
  EXPECT_NE(err.error().message.find("-1"), std::string::npos);
  err = model_->forward(*seq, too_big, std::span(&row0, 1), logits);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().code, ErrorCode::kOutOfRange);
  err = model_->forward(*seq, nine, std::span(&row0, 1), logits);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(err.error().message.find("context"), std::string::npos);
  const std::uint32_t row2 = 2;
  err = model_->forward(*seq, two, std::span(&row2, 1), logits);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().code, ErrorCode::kOutOfRange);
  std::vector<float> short_logits(vocab() - 1);
  err = model_->forward(*seq, two, std::span(&row0, 1), short_logits);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(seq->size(), 0u);

  // Filling to capacity works; one more token overflows.
  const std::vector<std::int32_t> eight(8, 5);
  ASSERT_TRUE(model_->forward(*seq, eight, {}, {}).ok());
  err = model_->forward(*seq, std::span(eight).first(1), {}, {});
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(seq->size(), 8u);
}

TEST_F(ForwardTest, SequenceOfAnotherModelAndEmptySizesAreRefused) {
  auto other = Model::load(testing::model_path("llama-f32.gguf"));
  ASSERT_TRUE(other.ok());
  auto seq = (*other)->create_sequence(8);
  ASSERT_TRUE(seq.ok());
  const std::vector<std::int32_t> one = {5};
  EXPECT_FALSE(model_->forward(*seq, one, {}, {}).ok());
  EXPECT_FALSE(model_->create_sequence(0).ok());
  auto batch_only = model_->create_sequence(8, {.max_batch = 0});  // computed only in batches
  ASSERT_TRUE(batch_only.ok());
  EXPECT_FALSE(model_->forward(*batch_only, one, {}, {}).ok());
  EXPECT_FALSE(model_->create_workspace(0).ok());
  auto huge = model_->create_sequence(Model::kMaxContext + 1);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("context size"), std::string::npos);
}

TEST_F(ForwardTest, ObserverSeesNamedIntermediateTensors) {
  auto seq = model_->create_sequence(8);
  ASSERT_TRUE(seq.ok());
  std::map<std::string, int> seen;
  std::size_t q_cols = 0;
  seq->set_observer([&](const TensorView& t) {
    seen[std::string(t.name)]++;
    if (t.name == "q") q_cols = t.cols;
    EXPECT_EQ(t.rows, t.name.starts_with("result") ? 1u : 3u) << t.name;
  });
  const std::vector<std::int32_t> three = {5, 6, 7};
  const std::uint32_t last = 2;
  std::vector<float> logits(vocab());
  ASSERT_TRUE(model_->forward(*seq, three, std::span(&last, 1), logits).ok());
  EXPECT_EQ(seen["token_embd"], 1);
  EXPECT_EQ(seen["attn_norm"], 2);
  EXPECT_EQ(seen["layer_out"], 2);
  EXPECT_EQ(seen["result_output"], 1);
  EXPECT_EQ(q_cols, model_->hparams().q_dim());
}

// One Model, several threads, each with its own Sequence: identical results, no interference.
TEST_F(ForwardTest, SequencesOnSeveralThreadsShareOneModel) {
  const auto expected = all_logits(kTokens);
  constexpr int kThreads = 3;
  std::vector<std::vector<float>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto seq = model_->create_sequence(64, {.max_batch = static_cast<std::uint32_t>(4 + i)});
      if (!seq) return;
      std::vector<std::uint32_t> rows(kTokens.size());
      std::iota(rows.begin(), rows.end(), 0u);
      results[i].resize(rows.size() * vocab());
      if (!model_->forward(*seq, kTokens, rows, results[i]).ok()) results[i].clear();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_EQ(r.size(), expected.size());
    expect_rows_equal(r.data(), expected.data(), r.size());
  }
}

TEST(ModelLoad, ErrorsNameTheFile) {
  auto missing = Model::load(kModels + "no-such-model.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no-such-model.gguf"), std::string::npos);
  auto manifest = Model::load(kModels + "manifest.json");
  EXPECT_FALSE(manifest.ok());
}

}  // namespace
}  // namespace pensieve::model
