// Whole synthetic models: written, loaded by the engine, run.
#include "synth/synthesize.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>

#include "model/model.hpp"
#include "support/derived_fixtures.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::synth {
namespace {

using tensor::TensorType;

class SynthesizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pensieve-synth-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static SynthOptions options(std::string_view shape, std::string_view type, std::uint64_t seed = 1) {
    SynthOptions o;
    o.shape = *find_shape(shape);
    o.scheme = *find_scheme(type);
    o.seed = seed;
    o.threads = 2;
    return o;
  }

  std::string write(const SynthOptions& o, const std::string& file) {
    const std::string path = (dir_ / file).string();
    auto report = synthesize(o, path);
    EXPECT_TRUE(report.ok()) << report.error().message;
    if (report.ok()) {
      EXPECT_EQ(report->file_bytes, std::filesystem::file_size(path));
    }
    return path;
  }

  static std::unique_ptr<model::Model> load(const std::string& path) {
    auto m = model::Model::load(path);
    EXPECT_TRUE(m.ok()) << m.error().message;
    return m.ok() ? std::move(*m) : nullptr;
  }

  static TensorType type_of(const model::Model& m, const std::string& name) {
    const gguf::TensorInfo* t = m.metadata().find_tensor(name);
    EXPECT_NE(t, nullptr) << name;
    return t ? t->type : TensorType::kI8;
  }

  // Every logit of a short prompt is finite and the rows are not all equal.
  static void expect_finite_logits(const model::Model& m) {
    const std::vector<std::int32_t> tokens = {1, 17, 300, 42, 7};
    auto seq = m.create_sequence(16);
    ASSERT_TRUE(seq.ok()) << seq.error().message;
    std::vector<std::uint32_t> rows(tokens.size());
    std::iota(rows.begin(), rows.end(), 0u);
    std::vector<float> logits(rows.size() * m.hparams().n_vocab);
    const Status st = m.forward(*seq, tokens, rows, logits);
    ASSERT_TRUE(st.ok()) << st.error().message;
    for (float x : logits) ASSERT_TRUE(std::isfinite(x));
    const auto [lo, hi] = std::minmax_element(logits.begin(), logits.end());
    EXPECT_LT(*lo, *hi);
  }

  static std::vector<char> bytes_of(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::filesystem::path dir_;
};

TEST_F(SynthesizeTest, TinyLlamaLoadsAndRunsInEveryType) {
  for (const WeightScheme& scheme : all_schemes()) {
    const std::string type(scheme.name);
    SCOPED_TRACE(type);
    const auto m = load(write(options("tiny-llama", type), type + ".gguf"));
    ASSERT_NE(m, nullptr);
    const auto& hp = m->hparams();
    EXPECT_EQ(hp.architecture, model::Architecture::kLlama);
    EXPECT_EQ(hp.n_layer, 2u);
    EXPECT_EQ(hp.n_embd, 256u);
    EXPECT_EQ(hp.n_ff, 512u);
    EXPECT_EQ(hp.n_head, 4u);
    EXPECT_EQ(hp.n_head_kv, 2u);
    EXPECT_EQ(hp.head_dim_k, 64u);
    EXPECT_EQ(hp.n_vocab, 512u);
    EXPECT_EQ(hp.n_ctx_train, 4096u);
    EXPECT_EQ(hp.rope_freq_base, 500000.0);
    EXPECT_FLOAT_EQ(hp.rms_norm_eps, 1e-5f);
    EXPECT_NE(m->weights().rope_freqs, nullptr);
    EXPECT_EQ(m->weights().rope_freqs[0], 1.0f);
    EXPECT_EQ(m->weights().layers[0].attn_norm[5], 1.0f);
    const TensorType base = scheme.base;
    EXPECT_EQ(type_of(*m, "blk.0.attn_q.weight"), base);
    EXPECT_EQ(type_of(*m, "blk.1.ffn_gate.weight"), base);
    EXPECT_EQ(type_of(*m, "blk.0.attn_norm.weight"), TensorType::kF32);
    EXPECT_EQ(*m->metadata().get_uint("general.file_type"), scheme.file_type);
    expect_finite_logits(*m);
  }
}

TEST_F(SynthesizeTest, QuantMixGivesOutputAndMoreBitsLayersQ6K) {
  SynthOptions o = options("tiny-llama", "Q4_K_M");
  o.shape.n_layer = 16;  // enough layers for the rule to pick a pattern
  const auto m = load(write(o, "mix.gguf"));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->hparams().n_layer, 16u);
  EXPECT_EQ(type_of(*m, "output.weight"), TensorType::kQ6_K);
  EXPECT_EQ(type_of(*m, "token_embd.weight"), TensorType::kQ4_K);  // untied: the base type
  for (std::uint32_t i = 0; i < 16; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    const bool more = i < 2 || i >= 14 || (i - 2) % 3 == 2;
    const TensorType expected = more ? TensorType::kQ6_K : TensorType::kQ4_K;
    EXPECT_EQ(type_of(*m, b + "attn_v.weight"), expected) << i;
    EXPECT_EQ(type_of(*m, b + "ffn_down.weight"), expected) << i;
    EXPECT_EQ(type_of(*m, b + "attn_q.weight"), TensorType::kQ4_K) << i;
    EXPECT_EQ(type_of(*m, b + "ffn_up.weight"), TensorType::kQ4_K) << i;
  }
  expect_finite_logits(*m);
}

TEST_F(SynthesizeTest, RowsThatAreNotWholeSuperBlocksFallBack) {
  SynthOptions o = options("tiny-llama", "Q4_K_M");
  o.shape.n_embd = 288;  // 1.125 super-blocks, 9 blocks of 32
  o.shape.head_dim = 72;
  const auto m = load(write(o, "fallback.gguf"));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(type_of(*m, "token_embd.weight"), TensorType::kQ5_0);
  EXPECT_EQ(type_of(*m, "output.weight"), TensorType::kQ8_0);
  EXPECT_EQ(type_of(*m, "blk.0.attn_q.weight"), TensorType::kQ5_0);
  EXPECT_EQ(type_of(*m, "blk.0.attn_v.weight"), TensorType::kQ5_0);
  EXPECT_EQ(type_of(*m, "blk.1.attn_v.weight"), TensorType::kQ8_0);       // Q6_K's fallback
  EXPECT_EQ(type_of(*m, "blk.0.attn_output.weight"), TensorType::kQ5_0);  // rows of 4 × 72
  // ffn_down's rows are n_ff = 512 long: whole super-blocks, no fallback.
  EXPECT_EQ(type_of(*m, "blk.0.ffn_down.weight"), TensorType::kQ4_K);
  EXPECT_EQ(type_of(*m, "blk.1.ffn_down.weight"), TensorType::kQ6_K);
  expect_finite_logits(*m);

  o.scheme = *find_scheme("Q5_K_M");
  const auto m5 = load(write(o, "fallback5.gguf"));
  ASSERT_NE(m5, nullptr);
  EXPECT_EQ(type_of(*m5, "blk.0.attn_q.weight"), TensorType::kQ5_1);
  EXPECT_EQ(type_of(*m5, "blk.0.ffn_down.weight"), TensorType::kQ5_K);
}

TEST_F(SynthesizeTest, MixtureOfExpertsLoadsAndRuns) {
  const auto m = load(write(options("tiny-qwen3moe", "Q4_K_M"), "moe.gguf"));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->hparams().n_expert, 8u);
  EXPECT_EQ(m->hparams().n_expert_used, 2u);
  EXPECT_EQ(m->hparams().n_ff_expert, 256u);
  EXPECT_EQ(type_of(*m, "blk.0.ffn_gate_inp.weight"), TensorType::kF32);
  EXPECT_EQ(type_of(*m, "blk.1.ffn_down_exps.weight"), TensorType::kQ6_K);
  EXPECT_NE(m->weights().layers[1].q_norm, nullptr);
  expect_finite_logits(*m);
}

TEST_F(SynthesizeTest, DenseQwenFamiliesLoadAndRun) {
  for (model::Architecture arch : {model::Architecture::kQwen2, model::Architecture::kQwen3}) {
    SynthOptions o = options("tiny-llama", "Q4_K_M");
    o.shape.architecture = arch;
    o.shape.llama3_rope.reset();
    o.shape.tied_embeddings = true;
    const auto m = load(write(o, std::string(model::info_of(arch).name) + ".gguf"));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->hparams().architecture, arch);
    const auto& layer = m->weights().layers[1];
    EXPECT_EQ(layer.bq != nullptr, arch == model::Architecture::kQwen2);
    EXPECT_EQ(layer.q_norm != nullptr, arch == model::Architecture::kQwen3);
    EXPECT_EQ(m->metadata().find_tensor("output.weight"), nullptr);
    EXPECT_EQ(type_of(*m, "token_embd.weight"), TensorType::kQ6_K);  // tied: quantized as the output
    expect_finite_logits(*m);
  }
}

TEST_F(SynthesizeTest, SameSeedSameBytesOtherSeedOtherWeights) {
  const std::string a = write(options("tiny-llama", "Q4_K_M", 7), "a.gguf");
  SynthOptions single_thread = options("tiny-llama", "Q4_K_M", 7);
  single_thread.threads = 1;
  const std::string b = write(single_thread, "b.gguf");
  const std::string c = write(options("tiny-llama", "Q4_K_M", 8), "c.gguf");
  const auto bytes_a = bytes_of(a);
  EXPECT_EQ(bytes_a, bytes_of(b));  // the thread count does not matter either
  const auto bytes_c = bytes_of(c);
  ASSERT_EQ(bytes_a.size(), bytes_c.size());
  EXPECT_NE(bytes_a, bytes_c);
}

TEST_F(SynthesizeTest, RandomWeightsHaveTheWantedSpread) {
  const auto m = load(write(options("tiny-llama", "F32"), "spread.gguf"));
  ASSERT_NE(m, nullptr);
  const gguf::TensorInfo* t = m->metadata().find_tensor("blk.0.ffn_up.weight");
  ASSERT_NE(t, nullptr);
  const auto* v = reinterpret_cast<const float*>(t->data.data());
  const std::size_t n = t->element_count;
  double sum = 0, sum_sq = 0;
  for (std::size_t i = 0; i < n; ++i) sum += v[i], sum_sq += double(v[i]) * v[i];
  const double mean = sum / n, std_dev = std::sqrt(sum_sq / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 1e-3);
  EXPECT_NEAR(std_dev, 0.02, 1e-3);
}

TEST_F(SynthesizeTest, BuiltInTokenizerAndChatTemplate) {
  const std::string path = write(options("tiny-llama", "Q8_0"), "tok.gguf");
  auto tok = tokenizer::Tokenizer::from_file(path);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  EXPECT_EQ(tok->n_vocab(), 512);
  EXPECT_EQ(tok->pre_tokenizer(), "llama-bpe");
  const std::string text = "The model reads the text.";
  EXPECT_EQ(tok->decode(tok->encode(text, false)), text);
  ASSERT_TRUE(tok->eos_id().has_value());
  EXPECT_EQ(tok->token_text(*tok->eos_id()), "<|im_end|>");
  const auto m = load(path);
  ASSERT_NE(m, nullptr);
  auto tmpl = m->metadata().get_string("tokenizer.chat_template");
  ASSERT_TRUE(tmpl.ok() && tmpl->has_value());
  EXPECT_NE((*tmpl)->find("<|im_start|>"), std::string_view::npos);
}

TEST_F(SynthesizeTest, VocabularyFileGivesItsTokenizerAndSize) {
  SynthOptions o = options("tiny-llama", "Q8_0");
  o.vocab_path = ::pensieve::testing::fixture_path("vocab/ggml-vocab-gpt-2-pre-llama3.gguf");
  const std::string path = write(o, "vocab.gguf");
  const auto m = load(path);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->hparams().n_vocab, 50257u);
  EXPECT_EQ(*m->metadata().get_uint("llama.vocab_size"), 50257u);
  auto pre = m->metadata().get_string("tokenizer.ggml.pre");
  ASSERT_TRUE(pre.ok() && pre->has_value());
  EXPECT_EQ(**pre, "llama-bpe");
  auto tok = tokenizer::Tokenizer::from_file(path);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  EXPECT_EQ(tok->encode(" the", false).size(), 1u);  // GPT-2's merges, not our small set
  expect_finite_logits(*m);
}

TEST_F(SynthesizeTest, UnusableInputsFailWithoutWritingAFile) {
  SynthOptions o = options("tiny-llama", "Q8_0");
  o.shape.n_layer = 0;
  const std::string path = (dir_ / "none.gguf").string();
  EXPECT_FALSE(synthesize(o, path).ok());
  o = options("tiny-llama", "Q8_0");
  o.vocab_path = (dir_ / "missing-vocab.gguf").string();
  auto r = synthesize(o, path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing-vocab.gguf"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace pensieve::synth
