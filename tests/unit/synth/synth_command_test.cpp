// `pensieve synth` run as a real process, and the file it writes used by other commands.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "../../support/command_run.hpp"
#include "model/model.hpp"

namespace pensieve::synth {
namespace {

using pensieve::testing::CommandRun;

// stdout and stderr together in `output`.
CommandRun run_pensieve(const std::string& args) {
  return pensieve::testing::run_shell(std::string(PENSIEVE_CLI_BINARY) + " " + args + " 2>&1");
}

class SynthCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = std::filesystem::temp_directory_path() /
           ("pensieve-synth-cmd-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".gguf");
  }
  void TearDown() override { std::filesystem::remove(out_); }
  std::filesystem::path out_;
};

TEST_F(SynthCommandTest, WritesAModelThatLoadsAndTokenizes) {
  const CommandRun run =
      run_pensieve("synth --shape tiny-qwen3moe --type q4_k_m --layers 3 --seed 5 --out " + out_.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("wrote " + out_.string()), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Q6_K"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("3 layers"), std::string::npos) << run.output;

  auto m = model::Model::load(out_.string());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ((*m)->hparams().n_layer, 3u);
  EXPECT_EQ((*m)->hparams().architecture, model::Architecture::kQwen3Moe);

  const CommandRun tok = run_pensieve("tokenize " + out_.string() + " --text \"the model\"");
  ASSERT_EQ(tok.exit_code, 0) << tok.output;
  EXPECT_FALSE(tok.output.empty());
  const CommandRun inspect = run_pensieve("inspect " + out_.string());
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("qwen3moe"), std::string::npos) << inspect.output;
}

TEST_F(SynthCommandTest, UnknownShapeOrTypeListsTheValidNames) {
  CommandRun run = run_pensieve("synth --shape nope --type Q4_K_M --out " + out_.string());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("unknown shape 'nope'"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("llama3.2-1b"), std::string::npos) << run.output;
  run = run_pensieve("synth --shape tiny-llama --type Q2_K --out " + out_.string());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("unknown type 'Q2_K'"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Q5_K_M"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(out_));
}

}  // namespace
}  // namespace pensieve::synth
