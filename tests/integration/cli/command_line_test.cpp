// The command line as a user meets it, on the real binary: options from the environment
// (PENSIEVE_<LONG_NAME>, the command line winning), --help by topic, and the log's formats.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "../../support/command_run.hpp"
#include "support/derived_fixtures.hpp"

namespace pensieve {
namespace {

const std::string kBinary = PENSIEVE_CLI_BINARY;
const std::string kModel = std::string(PENSIEVE_FIXTURES) + "/models/qwen3-q8_0.gguf";
// A file that exists but is no GGUF model: serve logs that it is loading it, then why it cannot.
const std::string kNotAModel = std::string(PENSIEVE_FIXTURES) + "/models/manifest.json";

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

// With --log-format json every line serve writes, errors included, is one JSON object.
TEST(Log, ServeWritesJsonLinesWhenAsked) {
  const auto run =
      testing::run_shell(kBinary + " serve --model " + kNotAModel + " --log-format json 2>&1 >/dev/null");
  EXPECT_NE(run.exit_code, 0);
  std::size_t lines = 0;
  std::size_t start = 0;
  while (start < run.output.size()) {
    const auto end = run.output.find('\n', start);
    const std::string line = run.output.substr(start, end - start);
    start = end == std::string::npos ? run.output.size() : end + 1;
    if (line.empty()) continue;
    ++lines;
    const auto object = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(object.is_object()) << line;
    EXPECT_TRUE(object.contains("time") && object.contains("level") && object.contains("message")) << line;
  }
  EXPECT_GE(lines, 2u) << run.output;  // loading …, then the error
  EXPECT_NE(run.output.find("\"level\":\"error\""), std::string::npos) << run.output;
}

// A model whose chat template cannot be parsed is refused from its metadata, before its weights
// are read: a large model would otherwise load for minutes first.
TEST(Log, ServeRefusesAnUnusableChatTemplateBeforeLoading) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("pensieve-bad-template-" + std::to_string(::getpid()) + ".gguf"))
                               .string();
  const gguf::Value unclosed{gguf::ValueType::kString,
                             std::string_view("{% for message in messages %}{{ message.content }}")};
  const Status written =
      testing::write_with_metadata_value(kModel, "tokenizer.chat_template", unclosed, path);
  ASSERT_TRUE(written.ok()) << written.error().message;
  const auto run = testing::run_shell(kBinary + " serve --model " + path + " --port 0 2>&1");
  std::filesystem::remove(path);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("chat template"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("weights ready"), std::string::npos) << run.output;
}

TEST(Log, AnUnknownLevelIsRefused) {
  const auto run = testing::run_shell(kBinary + " serve --model /nonexistent.gguf --log-level loud 2>&1");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("unknown log level 'loud'"), std::string::npos) << run.output;
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
