// Every fixture model file against its expected logits (tolerances from the engine-core issue),
// and greedy decoding one token at a time against the reference continuation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "fixture_manifest.hpp"
#include "kernels/isa.hpp"
#include "kernels/kv_type.hpp"
#include "model/model.hpp"
#include "routing_ties.hpp"

namespace pensieve::model {
namespace {

using testing::FixtureFile;

constexpr double kFloatMaxAbsError = 2e-3;
constexpr double kArgmaxMargin = 1e-2;
constexpr double kPeerRmsFactor = 1.25;

std::size_t argmax(const float* row, std::size_t n) {
  return static_cast<std::size_t>(std::max_element(row, row + n) - row);
}

// Difference between the largest and second-largest value.
double top2_margin(const float* row, std::size_t n) {
  float best = -INFINITY, second = -INFINITY;
  for (std::size_t i = 0; i < n; ++i) {
    if (row[i] > best) {
      second = best;
      best = row[i];
    } else if (row[i] > second) {
      second = row[i];
    }
  }
  return static_cast<double>(best) - second;
}

// The suite runs under the instruction set PENSIEVE_ISA names (CTest runs it once per variant);
// on a CPU without it every test skips with the reason; an unknown name fails.
class IsaEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const auto isa = kernels::isa_from_environment();
    if (!isa.ok() && isa.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << isa.error().message;
    ASSERT_TRUE(isa.ok()) << isa.error().message;  // a misspelt variant must not pass as skipped
    std::printf("kernels: %s\n", std::string(kernels::name_of(*isa)).c_str());
  }
};
[[maybe_unused]] ::testing::Environment* const kIsaEnvironment =
    ::testing::AddGlobalTestEnvironment(new IsaEnvironment);

class FixtureLogitsTest : public ::testing::TestWithParam<FixtureFile> {};

TEST_P(FixtureLogitsTest, AllPositionLogitsMatchExpected) {
  const FixtureFile& f = GetParam();
  auto model = Model::load(f.path);
  ASSERT_TRUE(model.ok()) << model.error().message;
  ASSERT_EQ((*model)->hparams().n_vocab, f.vocab);
  const std::size_t n = f.tokens.size();
  auto seq = (*model)->create_sequence(static_cast<std::uint32_t>(n));
  ASSERT_TRUE(seq.ok()) << seq.error().message;
  std::vector<std::uint32_t> rows(n);
  std::iota(rows.begin(), rows.end(), 0u);
  std::vector<float> logits(n * f.vocab);
  const Status status = (*model)->forward(*seq, f.tokens, rows, logits);
  ASSERT_TRUE(status.ok()) << status.error().message;

  const std::vector<float> expected = testing::read_floats(f.expected_logits_path);
  ASSERT_EQ(expected.size(), logits.size()) << f.expected_logits_path;
  // A quantized file's kernels quantize activations, so near-ties of expert routing may flip.
  const std::vector<bool> skipped =
      f.is_float() ? std::vector<bool>(n, false) : testing::routing_near_ties(f);
  double max_abs = 0.0, sum_squares = 0.0;
  std::size_t counted = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    ASSERT_TRUE(std::isfinite(logits[i])) << "logit " << i;
    if (skipped[i / f.vocab]) continue;
    const double d = static_cast<double>(logits[i]) - expected[i];
    max_abs = std::max(max_abs, std::abs(d));
    sum_squares += d * d;
    ++counted;
  }
  const std::size_t skipped_positions = static_cast<std::size_t>(std::count(skipped.begin(), skipped.end(), true));
  ASSERT_LE(skipped_positions, n / 8) << "too many routing near-ties to judge this file";
  const double rms = std::sqrt(sum_squares / static_cast<double>(counted));
  RecordProperty("max_abs_error", std::to_string(max_abs));
  RecordProperty("rms_error", std::to_string(rms));
  RecordProperty("routing_near_tie_positions", static_cast<int>(skipped_positions));

  if (f.is_float()) {
    EXPECT_LE(max_abs, kFloatMaxAbsError) << "rms " << rms;
    for (std::size_t p = 0; p < n; ++p) {
      const float* ref = expected.data() + p * f.vocab;
      if (top2_margin(ref, f.vocab) <= kArgmaxMargin) continue;
      EXPECT_EQ(argmax(logits.data() + p * f.vocab, f.vocab), argmax(ref, f.vocab)) << "position " << p;
    }
  } else {
    EXPECT_LE(rms, kPeerRmsFactor * *f.peer_rms) << "max abs " << max_abs;
  }
}

// Prompt computed as one batch, then one token per forward call, feeding back the argmax: the
// continuation must match the reference's up to the first step too close to call.
// The reference continuation belongs to the float weights, so only float files are decoded.
class FloatFixtureTest : public ::testing::TestWithParam<FixtureFile> {};

TEST_P(FloatFixtureTest, GreedyDecodingReproducesReferenceContinuation) {
  const FixtureFile& f = GetParam();
  auto model = Model::load(f.path);
  ASSERT_TRUE(model.ok()) << model.error().message;
  const std::size_t steps = f.greedy_continuation.size();
  auto seq = (*model)->create_sequence(static_cast<std::uint32_t>(f.greedy_prompt.size() + steps));
  ASSERT_TRUE(seq.ok()) << seq.error().message;
  std::vector<float> logits(f.vocab);
  const std::uint32_t last = static_cast<std::uint32_t>(f.greedy_prompt.size() - 1);
  ASSERT_TRUE((*model)->forward(*seq, f.greedy_prompt, std::span(&last, 1), logits).ok());

  std::size_t checked = 0;
  for (std::size_t step = 0; step < steps; ++step) {
    if (f.greedy_margins[step] < kArgmaxMargin) break;
    const auto next = static_cast<std::int32_t>(argmax(logits.data(), f.vocab));
    ASSERT_EQ(next, f.greedy_continuation[step]) << "step " << step;
    ++checked;
    const std::uint32_t row = 0;
    ASSERT_TRUE((*model)->forward(*seq, std::span(&next, 1), std::span(&row, 1), logits).ok());
  }
  RecordProperty("steps_checked", static_cast<int>(checked));
  if (f.greedy_margins[0] >= kArgmaxMargin) {
    EXPECT_GT(checked, 0u);
  }
}

// Decoding token by token must give the logits batched prompt processing gives.
TEST_P(FixtureLogitsTest, OneTokenAtATimeMatchesOneBatch) {
  const FixtureFile& f = GetParam();
  auto model = Model::load(f.path);
  ASSERT_TRUE(model.ok()) << model.error().message;
  const std::size_t n = f.tokens.size();
  // With every KV cache type: the cached rows are the same either way, only the order of the
  // softmax sums differs between the batched query tiles and one query at a time.
  for (kernels::KvType kv_type : {kernels::KvType::kF32, kernels::KvType::kF16, kernels::KvType::kQ8_0}) {
    SCOPED_TRACE(std::string(kernels::name_of(kv_type)));
    auto batched = (*model)->create_sequence(static_cast<std::uint32_t>(n), {.kv_type = kv_type});
    auto stepped = (*model)->create_sequence(static_cast<std::uint32_t>(n), {.kv_type = kv_type});
    ASSERT_TRUE(batched.ok() && stepped.ok());
    std::vector<std::uint32_t> rows(n);
    std::iota(rows.begin(), rows.end(), 0u);
    std::vector<float> all(n * f.vocab);
    ASSERT_TRUE((*model)->forward(*batched, f.tokens, rows, all).ok());
    std::vector<float> one(f.vocab);
    const std::uint32_t row = 0;
    for (std::size_t p = 0; p < n; ++p) {
      ASSERT_TRUE((*model)->forward(*stepped, std::span(&f.tokens[p], 1), std::span(&row, 1), one).ok());
      for (std::size_t v = 0; v < f.vocab; ++v) {
        ASSERT_NEAR(one[v], all[p * f.vocab + v], 1e-4) << "position " << p << ", token " << v;
      }
    }
    EXPECT_EQ(stepped->size(), n);
  }
}

INSTANTIATE_TEST_SUITE_P(Manifest, FixtureLogitsTest, ::testing::ValuesIn(testing::fixture_files()),
                         [](const ::testing::TestParamInfo<FixtureFile>& info) {
                           return testing::test_name_of(info.param);
                         });

std::vector<FixtureFile> float_fixture_files() {
  std::vector<FixtureFile> files;
  for (const auto& f : testing::fixture_files()) {
    if (f.is_float()) files.push_back(f);
  }
  return files;
}

INSTANTIATE_TEST_SUITE_P(Manifest, FloatFixtureTest, ::testing::ValuesIn(float_fixture_files()),
                         [](const ::testing::TestParamInfo<FixtureFile>& info) {
                           return testing::test_name_of(info.param);
                         });

}  // namespace
}  // namespace pensieve::model
