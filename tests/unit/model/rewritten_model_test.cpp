// Behaviour no fixture exercises, checked on fixtures rewritten with edited metadata or extra
// tensors: a sliding attention window, linear RoPE scaling and rope_freqs factors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "contents_editing.hpp"
#include "gguf/writer.hpp"
#include "model/model.hpp"

namespace pensieve::model {
namespace {

using testing::kModels;

const std::vector<std::int32_t> kTokens = {45, 300, 12, 77, 500, 8, 99, 123, 256, 31, 400, 2};

// A copy of fixture `source` with metadata edited (return false from `keep` to drop a key) plus
// `extra` metadata and tensors added, written to a temporary file.
class RewrittenModel {
 public:
  RewrittenModel(const std::string& source, const std::function<bool(std::string_view)>& keep,
                 const std::function<void(gguf::Writer&)>& extra) {
    path_ = (std::filesystem::temp_directory_path() / ("pensieve-model-test-" + std::to_string(::getpid()) +
                                                       "-" + std::to_string(counter_++) + ".gguf"))
                .string();
    const gguf::File file = testing::open_fixture(source);
    gguf::Writer w;
    for (const auto& entry : file.contents().metadata) {
      if (entry.key == "general.alignment" || !keep(entry.key)) continue;
      EXPECT_TRUE(w.add_value(entry.key, entry.value).ok()) << entry.key;
    }
    for (const auto& t : file.contents().tensors) {
      const std::vector<std::uint64_t> dims(t.dims.begin(), t.dims.begin() + t.n_dims);
      EXPECT_TRUE(w.add_tensor(t.name, t.type, dims, t.data).ok()) << t.name;
    }
    extra(w);
    const Status written = w.write_file(path_);
    EXPECT_TRUE(written.ok()) << (written.ok() ? "" : written.error().message);
  }
  ~RewrittenModel() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

std::vector<float> logits_of(const std::string& path, const std::vector<std::int32_t>& tokens) {
  auto model = Model::load(path);
  EXPECT_TRUE(model.ok()) << (model.ok() ? "" : model.error().message);
  if (!model.ok()) return {};
  auto seq = (*model)->create_sequence(static_cast<std::uint32_t>(tokens.size()));
  EXPECT_TRUE(seq.ok());
  std::vector<std::uint32_t> rows(tokens.size());
  std::iota(rows.begin(), rows.end(), 0u);
  std::vector<float> logits(rows.size() * (*model)->hparams().n_vocab);
  EXPECT_TRUE((*model)->forward(*seq, tokens, rows, logits).ok());
  return logits;
}

double max_difference(const float* a, const float* b, std::size_t n) {
  double d = 0.0;
  for (std::size_t i = 0; i < n; ++i) d = std::max(d, std::abs(static_cast<double>(a[i]) - b[i]));
  return d;
}

// With a window of 4 over 2 layers, position p sees tokens p-6 … p only: changing token 0
// changes the logits of positions 0…6 and leaves those from 7 on exactly as they were.
TEST(RewrittenModel, SlidingWindowLimitsWhatEachPositionSees) {
  const RewrittenModel windowed(
      "phi3-f16.gguf", [](std::string_view key) { return key != "phi3.attention.sliding_window"; },
      [](gguf::Writer& w) { ASSERT_TRUE(w.add_uint32("phi3.attention.sliding_window", 4).ok()); });
  auto changed = kTokens;
  changed[0] = 46;
  const auto a = logits_of(windowed.path(), kTokens);
  const auto b = logits_of(windowed.path(), changed);
  ASSERT_EQ(a.size(), b.size());
  const std::size_t vocab = a.size() / kTokens.size();
  for (std::size_t p = 0; p < kTokens.size(); ++p) {
    const double d = max_difference(a.data() + p * vocab, b.data() + p * vocab, vocab);
    if (p <= 6) {
      EXPECT_GT(d, 1e-4) << "position " << p << " should see token 0";
    } else {
      EXPECT_EQ(d, 0.0) << "position " << p << " is outside token 0's reach";
    }
  }
  // The unmodified fixture (window 4096) lets every position see token 0.
  const auto full_a = logits_of(kModels + "phi3-f16.gguf", kTokens);
  const auto full_b = logits_of(kModels + "phi3-f16.gguf", changed);
  const std::size_t last = kTokens.size() - 1;
  EXPECT_GT(max_difference(full_a.data() + last * vocab, full_b.data() + last * vocab, vocab), 1e-4);
}

// Linear scaling by 2 halves every angle, as rope_freqs factors of 2 do: the two rewrites must
// agree with each other and differ from the original.
TEST(RewrittenModel, LinearRopeScalingEqualsUniformRopeFrequencyFactors) {
  const auto keep_all = [](std::string_view) { return true; };
  const RewrittenModel linear("llama-f32.gguf", keep_all, [](gguf::Writer& w) {
    ASSERT_TRUE(w.add_string("llama.rope.scaling.type", "linear").ok());
    ASSERT_TRUE(w.add_float32("llama.rope.scaling.factor", 2.0f).ok());
  });
  const RewrittenModel factors("llama-f32.gguf", keep_all, [](gguf::Writer& w) {
    const std::vector<float> twos(32, 2.0f);
    const std::uint64_t dims[] = {32};
    ASSERT_TRUE(w.add_tensor_from_floats("rope_freqs.weight", tensor::TensorType::kF32, dims, twos).ok());
  });
  const auto scaled = logits_of(linear.path(), kTokens);
  const auto divided = logits_of(factors.path(), kTokens);
  const auto original = logits_of(testing::model_path("llama-f32.gguf"), kTokens);
  ASSERT_EQ(scaled.size(), original.size());
  ASSERT_EQ(divided.size(), original.size());
  EXPECT_LT(max_difference(scaled.data(), divided.data(), scaled.size()), 1e-4);
  EXPECT_GT(max_difference(scaled.data(), original.data(), scaled.size()), 1e-3);
  // Position 0 has no rotation at all, so its logits are untouched.
  const std::size_t vocab = original.size() / kTokens.size();
  EXPECT_LT(max_difference(scaled.data(), original.data(), vocab), 1e-5);
}

TEST(RewrittenModel, MisshapenRopeFreqsIsNamed) {
  const RewrittenModel bad(
      "llama-f32.gguf", [](std::string_view) { return true; },
      [](gguf::Writer& w) {
        const std::vector<float> values(16, 1.0f);
        const std::uint64_t dims[] = {16};
        ASSERT_TRUE(
            w.add_tensor_from_floats("rope_freqs.weight", tensor::TensorType::kF32, dims, values).ok());
      });
  auto model = Model::load(bad.path());
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.error().message.find("rope_freqs.weight has shape [16]"), std::string::npos)
      << model.error().message;
}

}  // namespace
}  // namespace pensieve::model
