// `pensieve logits` run as a real process.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "../../support/command_run.hpp"
#include "fixture_manifest.hpp"

namespace pensieve::model {
namespace {

using pensieve::testing::CommandRun;

// stdout and stderr together in `output`.
CommandRun run_command(const std::string& args) {
  return pensieve::testing::run_shell(std::string(PENSIEVE_CLI_BINARY) + " logits " + args + " 2>&1");
}

std::string join(const std::vector<std::int32_t>& ids) {
  std::string s;
  for (auto id : ids) {
    if (!s.empty()) s.push_back(' ');
    s.append(std::to_string(id));
  }
  return s;
}

const testing::FixtureFile& llama_f32() {
  for (const auto& f : testing::fixture_files()) {
    if (f.file == "llama-f32.gguf") return f;
  }
  throw std::runtime_error("llama-f32.gguf is not in the manifest");
}

class LogitsCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = std::filesystem::temp_directory_path() /
           ("pensieve-logits-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".f32");
  }
  void TearDown() override { std::filesystem::remove(out_); }
  std::filesystem::path out_;
};

TEST_F(LogitsCommandTest, WritesAllPositionLogitsMatchingReference) {
  const auto& f = llama_f32();
  const CommandRun run = run_command(f.path + " --tokens \"" + join(f.tokens) + "\" --out " + out_.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::vector<float> got = testing::read_floats(out_.string());
  const std::vector<float> expected = testing::read_floats(f.expected_logits_path);
  ASSERT_EQ(got.size(), f.tokens.size() * f.vocab);
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 2e-3) << "logit " << i;
}

TEST_F(LogitsCommandTest, DumpDirHoldsEveryNamedIntermediateTensor) {
  const auto& f = llama_f32();
  const std::filesystem::path dir = out_.string() + ".dump";
  const CommandRun run =
      run_command(f.path + " --tokens \"1 2 3 4 5\" --out " + out_.string() + " --dump-dir " + dir.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto size_of = [&](const std::string& name) { return std::filesystem::file_size(dir / name); };
  EXPECT_EQ(size_of("token_embd.f32"), 5u * 256u * 4u);
  EXPECT_EQ(size_of("blk.0.q.f32"), 5u * 256u * 4u);
  EXPECT_EQ(size_of("blk.1.k.f32"), 5u * 128u * 4u);
  EXPECT_EQ(size_of("blk.1.layer_out.f32"), 5u * 256u * 4u);
  // The last intermediate is the logits themselves.
  EXPECT_EQ(testing::read_floats((dir / "result_output.f32").string()), testing::read_floats(out_.string()));
  std::filesystem::remove_all(dir);
}

TEST_F(LogitsCommandTest, TokenOutsideVocabularyFailsWithMessage) {
  const auto& f = llama_f32();
  const CommandRun run = run_command(f.path + " --tokens \"1 2 99999\" --out " + out_.string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("99999"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("vocabulary"), std::string::npos) << run.output;
}

TEST_F(LogitsCommandTest, ContextSmallerThanTokensFails) {
  const auto& f = llama_f32();
  const CommandRun run = run_command(f.path + " --tokens \"1 2 3\" --ctx-size 2 --out " + out_.string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("context"), std::string::npos) << run.output;
}

TEST_F(LogitsCommandTest, MalformedTokensAndMissingModelFail) {
  const auto& f = llama_f32();
  CommandRun run = run_command(f.path + " --tokens \"1 two 3\" --out " + out_.string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("two"), std::string::npos) << run.output;
  run = run_command("/nonexistent/model.gguf --tokens \"1\" --out " + out_.string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("/nonexistent/model.gguf"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace pensieve::model
