// Every option of every command can come from the environment (PENSIEVE_<LONG_NAME>), the
// command line winning where both are given: run on the real binary and a fixture model.
#include <gtest/gtest.h>

#include <string>

#include "../../support/command_run.hpp"

namespace pensieve {
namespace {

const std::string kBinary = PENSIEVE_CLI_BINARY;
const std::string kModel = std::string(PENSIEVE_FIXTURES) + "/models/qwen3-q8_0.gguf";

TEST(EnvironmentVariables, AnOptionComesFromItsVariable) {
  const auto run = testing::run_shell("PENSIEVE_CTX_SIZE=1234 " + kBinary + " inspect " + kModel);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("sequence(s) of 1234 tokens"), std::string::npos) << run.output;
}

TEST(EnvironmentVariables, TheCommandLineWins) {
  const auto run =
      testing::run_shell("PENSIEVE_CTX_SIZE=1234 " + kBinary + " inspect " + kModel + " --ctx-size 2048");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("sequence(s) of 2048 tokens"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("1234"), std::string::npos) << run.output;
}

TEST(EnvironmentVariables, APositionalModelComesFromPensieveModel) {
  const auto with_env =
      testing::run_shell("PENSIEVE_MODEL=" + kModel + " " + kBinary + " tokenize --text hello");
  const auto with_arg = testing::run_shell(kBinary + " tokenize " + kModel + " --text hello");
  ASSERT_EQ(with_env.exit_code, 0) << with_env.output;
  ASSERT_EQ(with_arg.exit_code, 0);
  EXPECT_EQ(with_env.output, with_arg.output);
  EXPECT_FALSE(with_env.output.empty());
}

TEST(EnvironmentVariables, AnInvalidValueIsRefusedLikeOnTheCommandLine) {
  const auto run = testing::run_shell("PENSIEVE_PARALLEL=lots " + kBinary + " inspect " + kModel + " 2>&1");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("parallel"), std::string::npos) << run.output;
}

TEST(EnvironmentVariables, HelpNamesEachVariable) {
  const auto run = testing::run_shell(kBinary + " serve --help");
  ASSERT_EQ(run.exit_code, 0);
  for (const char* name : {"PENSIEVE_MODEL", "PENSIEVE_CTX_SIZE", "PENSIEVE_API_KEY", "PENSIEVE_KV_TYPE"}) {
    EXPECT_NE(run.output.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(run.output.find("PENSIEVE_HELP"), std::string::npos);
}

// `serve --help` lists its options under topics, each option under its own.
TEST(Help, ServeGroupsItsOptionsByTopic) {
  const auto run = testing::run_shell(kBinary + " serve --help");
  ASSERT_EQ(run.exit_code, 0);
  const auto under = [&](const std::string& heading, const std::string& option) {
    const auto at = run.output.find("\n" + heading + ":\n");
    if (at == std::string::npos) return false;
    const auto next = run.output.find(":\n  ", at + heading.size() + 3);  // the next heading's end
    const auto found = run.output.find(option, at);
    return found != std::string::npos && (next == std::string::npos || found < next);
  };
  EXPECT_TRUE(under("Model", "--model")) << run.output;
  EXPECT_TRUE(under("Listening", "--api-key")) << run.output;
  EXPECT_TRUE(under("Compute", "--ctx-size")) << run.output;
  EXPECT_TRUE(under("Memory guard", "--memory-critical")) << run.output;
  EXPECT_TRUE(under("Prompt cache on disk", "--cache-dir")) << run.output;
}

TEST(Help, EveryCommandHasOne) {
  for (const char* command : {"inspect", "logits", "bench", "tokenize", "render", "serve", "synth"}) {
    const auto run = testing::run_shell(kBinary + " " + command + " --help 2>&1");
    EXPECT_EQ(run.exit_code, 0) << command << ": " << run.output;
    EXPECT_NE(run.output.find("Usage:"), std::string::npos) << command;
  }
}

}  // namespace
}  // namespace pensieve
