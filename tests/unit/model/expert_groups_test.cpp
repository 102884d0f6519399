// Mixtures of experts: the experts of a pass run in groups whose size depends on the batch and on
// the workspace, and a token must get the same bits whichever group its experts fall in.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "contents_editing.hpp"
#include "model/model.hpp"
#include "synth/synthesize.hpp"

namespace pensieve::model {
namespace {

const std::vector<std::int32_t> kTokens = {476, 316, 345, 452, 292, 391, 420, 115, 30,  153, 145, 440,
                                           460, 5,   253, 414, 68,  402, 62,  237, 412, 154, 174, 142};

// Three sequences at different positions, each computed alone (prefix, then its next chunk, in a
// workspace of 8 rows), and the same chunks in one batch of 10 rows in a workspace of
// `batch_rows`: the logits of each chunk's last row must be the same bits.
void expect_batch_gives_the_bits_of_each_alone(const Model& model, std::uint32_t batch_rows) {
  const std::size_t vocab = model.hparams().n_vocab;
  const std::span<const std::int32_t> all(kTokens);
  auto workspace = model.create_workspace(batch_rows);
  ASSERT_TRUE(workspace.ok());
  auto prefilled = [&](std::span<const std::int32_t> prefix, std::uint32_t max_batch) {
    auto seq = model.create_sequence(64, {.max_batch = max_batch});
    EXPECT_TRUE(seq.ok());
    const BatchPart part{&*seq, prefix, {}, {}};
    EXPECT_TRUE((max_batch != 0 ? model.forward(*seq, prefix, {}, {})
                                : model.forward_batch(*workspace, std::span(&part, 1)))
                    .ok());
    return std::move(*seq);
  };
  const auto a_prefix = all.first(10), a_chunk = all.subspan(10, 4);
  const auto b_prefix = all.subspan(5, 12), b_next = all.subspan(20, 1);
  const auto c_prefix = all.first(3), c_chunk = all.subspan(3, 5);
  const std::uint32_t last_of_a = 3, only = 0, last_of_c = 4;

  Sequence a_alone = prefilled(a_prefix, 8), b_alone = prefilled(b_prefix, 8),
           c_alone = prefilled(c_prefix, 8);
  std::vector<float> expected(3 * vocab);  // b's row, a's, c's
  ASSERT_TRUE(model.forward(b_alone, b_next, std::span(&only, 1), std::span(expected).first(vocab)).ok());
  ASSERT_TRUE(
      model.forward(a_alone, a_chunk, std::span(&last_of_a, 1), std::span(expected).subspan(vocab, vocab))
          .ok());
  ASSERT_TRUE(
      model.forward(c_alone, c_chunk, std::span(&last_of_c, 1), std::span(expected).subspan(2 * vocab)).ok());

  Sequence a = prefilled(a_prefix, 0), b = prefilled(b_prefix, 0), c = prefilled(c_prefix, 0);
  std::vector<float> logits(3 * vocab);
  const BatchPart parts[] = {
      {&b, b_next, std::span(&only, 1), std::span(logits).first(vocab)},
      {&a, a_chunk, std::span(&last_of_a, 1), std::span(logits).subspan(vocab, vocab)},
      {&c, c_chunk, std::span(&last_of_c, 1), std::span(logits).subspan(2 * vocab)},
  };
  ASSERT_TRUE(model.forward_batch(*workspace, parts).ok());
  for (std::size_t part = 0; part < 3; ++part) {
    EXPECT_EQ(
        std::memcmp(logits.data() + part * vocab, expected.data() + part * vocab, vocab * sizeof(float)), 0)
        << "part " << part << ", batch workspace of " << batch_rows << " rows";
  }
}

std::unique_ptr<Model> load(const std::string& path) {
  auto m = Model::load(path);
  EXPECT_TRUE(m.ok()) << m.error().message;
  return m.ok() ? std::move(*m) : nullptr;
}

// The fixtures: 8 experts, 2 per token (qwen3moe, Q4_K and Q6_K); 4 experts with biases and a
// clamped gate (gpt-oss, MXFP4).
TEST(ExpertGroups, FixturesGiveATokenTheSameBitsAloneAndInABatch) {
  for (const char* name : {"qwen3moe-q4_k_m.gguf", "gpt-oss-mxfp4.gguf"}) {
    SCOPED_TRACE(name);
    const auto model = load(testing::model_path(name));
    ASSERT_NE(model, nullptr);
    for (std::uint32_t rows : {12u, 64u}) expect_batch_gives_the_bits_of_each_alone(*model, rows);
  }
}

// 40 experts, 8 per token: a batch of 10 rows uses most of them, so its groups end at the most
// experts a group takes (64 rows of room) or at the workspace's room (12 rows), while a token
// decoded alone takes one group of 8.
TEST(ExpertGroups, ManyExpertsGiveATokenTheSameBitsAloneAndInABatch) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("pensieve-experts-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  synth::SynthOptions options;
  options.shape = *synth::find_shape("tiny-qwen3moe");
  options.shape.n_expert = 40;
  options.shape.n_expert_used = 8;
  options.shape.n_ff_expert = 64;
  options.scheme = *synth::find_scheme("Q4_K_M");
  options.threads = 2;
  const std::string path = (dir / "moe40.gguf").string();
  auto report = synth::synthesize(options, path);
  ASSERT_TRUE(report.ok()) << report.error().message;
  const auto model = load(path);
  std::filesystem::remove_all(dir);
  ASSERT_NE(model, nullptr);
  for (std::uint32_t rows : {12u, 64u}) expect_batch_gives_the_bits_of_each_alone(*model, rows);
}

}  // namespace
}  // namespace pensieve::model
