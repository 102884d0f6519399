// `pensieve pull`, `pensieve list` and model references in other commands, run as real processes
// against the fake hub on loopback, with the cache, home and hub given by the environment.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../../support/command_run.hpp"
#include "hub/cache.hpp"
#include "support/fake_hub.hpp"
#include "support/tiny_gguf.hpp"
#include "temp_dir.hpp"

namespace pensieve::hub {
namespace {

namespace fs = std::filesystem;
using pensieve::testing::CommandRun;
using pensieve::testing::FakeHub;
using pensieve::testing::tiny_gguf;
using testing::read_all;

constexpr const char* kCommit = "feedfacefeedfacefeedfacefeedfacefeedface";

class HubCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_test_dir("pensieve-hubcmd");
    // A real (tiny) model, so inspect can read it through its reference.
    llama_ = read_all(fs::path(PENSIEVE_FIXTURES) / "models" / "llama-f16.gguf");
    ASSERT_FALSE(llama_.empty());
    q8_ = tiny_gguf(
        {.architecture = "qwen3", .context_length = 32768, .file_type = 7, .payload_floats = 64 << 10});
    hub_.add_repo({"test-org/Llama-GGUF",
                   kCommit,
                   {{"README.md", "hi\n", false}, {"llama-F16.gguf", llama_}, {"llama-Q8_0.gguf", q8_}}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  // stdout and stderr together, unless `stderr_too` is false.
  CommandRun run(const std::string& args, const std::string& extra_env = "", bool stderr_too = true) {
    const std::string env =
        "env -u HF_TOKEN -u HUGGING_FACE_HUB_TOKEN -u HF_HUB_CACHE -u HUGGINGFACE_HUB_CACHE "
        "-u XDG_CACHE_HOME -u PENSIEVE_PULL HOME=" +
        (dir_ / "home").string() + " HF_HOME=" + (dir_ / "hf").string() + " HF_ENDPOINT=" + hub_.endpoint() +
        " no_proxy=127.0.0.1 NO_PROXY=127.0.0.1 " + extra_env + " ";
    return pensieve::testing::run_shell(env + PENSIEVE_CLI_BINARY + " " + args +
                                        (stderr_too ? " 2>&1" : " 2>/dev/null"));
  }
  fs::path snapshot(const std::string& file) {
    return dir_ / "hf" / "hub" / "models--test-org--Llama-GGUF" / "snapshots" / kCommit / file;
  }

  FakeHub hub_;
  fs::path dir_;
  std::string llama_, q8_;
};

TEST_F(HubCommandTest, PullPrintsThePathAndASecondPullIsANoOp) {
  const CommandRun first = run("pull test-org/Llama-GGUF:f16", "", false);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(first.output, snapshot("llama-F16.gguf").string() + "\n");
  EXPECT_EQ(read_all(snapshot("llama-F16.gguf")), llama_);
  EXPECT_EQ(read_all(dir_ / "hf" / "hub" / "models--test-org--Llama-GGUF" / "refs" / "main"), kCommit);

  const CommandRun second = run("pull test-org/Llama-GGUF:F16");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(
      second.output.find("test-org/Llama-GGUF:F16 is already in the cache (commit feedfacefeed); nothing to "
                         "download"),
      std::string::npos)
      << second.output;
  EXPECT_EQ(hub_.blob_requests(FakeHub::sha256_hex(llama_)).size(), 1u);
}

// The first run's model: `pull` with no reference fetches the default (here from the fake hub, which
// holds a stand-in under its name), and the path it prints is what scripts/serve.sh serves.
TEST_F(HubCommandTest, PullWithoutAReferenceFetchesTheDefaultModel) {
  hub_.add_repo({"Qwen/Qwen3-1.7B-GGUF", kCommit, {{"Qwen3-1.7B-Q8_0.gguf", q8_}}});
  const CommandRun pulled = run("pull", "", false);
  ASSERT_EQ(pulled.exit_code, 0) << run("pull").output;
  const fs::path expected =
      dir_ / "hf" / "hub" / "models--Qwen--Qwen3-1.7B-GGUF" / "snapshots" / kCommit / "Qwen3-1.7B-Q8_0.gguf";
  EXPECT_EQ(pulled.output, expected.string() + "\n");
  EXPECT_EQ(read_all(expected), q8_);
  const CommandRun help = run("pull --help");
  EXPECT_NE(help.output.find("Qwen/Qwen3-1.7B-GGUF:Q8_0"), std::string::npos) << help.output;
}

TEST_F(HubCommandTest, AnInterruptedPullResumesWithRange) {
  const std::string sha = FakeHub::sha256_hex(q8_);
  hub_.cut_after(sha, 123456);
  const CommandRun cut = run("pull --retries 0 test-org/Llama-GGUF:Q8_0");
  EXPECT_EQ(cut.exit_code, 1) << cut.output;
  EXPECT_NE(cut.output.find("downloading llama-Q8_0.gguf failed at 120.6 KiB"), std::string::npos)
      << cut.output;
  EXPECT_NE(cut.output.find("Run the pull again to resume"), std::string::npos) << cut.output;

  const CommandRun resumed = run("pull test-org/Llama-GGUF:Q8_0");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("llama-Q8_0.gguf: resuming after 120.6 KiB"), std::string::npos)
      << resumed.output;
  const auto transfers = hub_.blob_requests(sha);
  ASSERT_EQ(transfers.size(), 2u);
  EXPECT_EQ(transfers[1].range, "bytes=123456-");
  EXPECT_EQ(read_all(snapshot("llama-Q8_0.gguf")), q8_);
}

TEST_F(HubCommandTest, ErrorsSayWhatToDo) {
  hub_.add_repo({"test-org/Gated-GGUF", kCommit, {{"g-Q8_0.gguf", q8_}}, "hf_secret"});
  const CommandRun gated = run("pull test-org/Gated-GGUF:Q8_0");
  EXPECT_EQ(gated.exit_code, 1);
  EXPECT_NE(gated.output.find("pensieve pull: test-org/Gated-GGUF is gated: accept its licence"),
            std::string::npos)
      << gated.output;
  EXPECT_NE(gated.output.find("set HF_TOKEN"), std::string::npos);
  const CommandRun with_token = run("pull test-org/Gated-GGUF:Q8_0", "HF_TOKEN=hf_secret");
  EXPECT_EQ(with_token.exit_code, 0) << with_token.output;

  const CommandRun quant = run("pull test-org/Llama-GGUF:Q4_K_M");
  EXPECT_EQ(quant.exit_code, 1);
  EXPECT_NE(quant.output.find("test-org/Llama-GGUF has no Q4_K_M model; it has F16, Q8_0"), std::string::npos)
      << quant.output;
  const CommandRun repo = run("pull test-org/Missing-GGUF");
  EXPECT_EQ(repo.exit_code, 1);
  EXPECT_NE(repo.output.find("no repository test-org/Missing-GGUF"), std::string::npos) << repo.output;
  const CommandRun bad = run("pull not-a-reference");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("is not a model reference"), std::string::npos) << bad.output;
}

TEST_F(HubCommandTest, CommandsTakeAReferenceAndPullOnlyWhenAsked) {
  const CommandRun offline = run("inspect test-org/Llama-GGUF:F16");
  EXPECT_EQ(offline.exit_code, 1);
  EXPECT_NE(offline.output.find("fetch it with `pensieve pull test-org/Llama-GGUF:F16`"), std::string::npos)
      << offline.output;
  EXPECT_TRUE(hub_.requests().empty()) << "without --pull nothing goes to the hub";

  const CommandRun pulled = run("inspect --pull test-org/Llama-GGUF:F16");
  ASSERT_EQ(pulled.exit_code, 0) << pulled.output;
  EXPECT_NE(pulled.output.find("file:          " + snapshot("llama-F16.gguf").string()), std::string::npos)
      << pulled.output;
  EXPECT_NE(pulled.output.find("architecture:  llama"), std::string::npos) << pulled.output;

  // Now cached: tokenize finds it offline, the environment variable stands for --pull.
  const CommandRun tokens = run("tokenize test-org/Llama-GGUF:F16 --text hello");
  ASSERT_EQ(tokens.exit_code, 0) << tokens.output;
  const CommandRun by_env = run("inspect test-org/Llama-GGUF:Q8_0", "PENSIEVE_PULL=1");
  // The Q8_0 file is a tiny GGUF without a runnable model: resolved and read, then refused.
  EXPECT_NE(by_env.output.find("architecture:  qwen3"), std::string::npos) << by_env.output;

  // A path keeps working as a path.
  const std::string path = (fs::path(PENSIEVE_FIXTURES) / "models" / "llama-f16.gguf").string();
  const CommandRun by_path = run("inspect " + path);
  ASSERT_EQ(by_path.exit_code, 0) << by_path.output;
  EXPECT_NE(by_path.output.find("file:          " + path), std::string::npos);
  const CommandRun no_file = run("inspect " + (dir_ / "missing.gguf").string());
  EXPECT_EQ(no_file.exit_code, 1);
  EXPECT_NE(no_file.output.find("pensieve inspect: no such file: " + (dir_ / "missing.gguf").string()),
            std::string::npos)
      << no_file.output;
}

TEST_F(HubCommandTest, ListShowsTheCacheAndLmStudio) {
  ASSERT_EQ(run("pull test-org/Llama-GGUF:F16").exit_code, 0);
  pensieve::testing::write_file(
      (dir_ / "home" / ".lmstudio" / "models" / "lmstudio-community" / "Phi-GGUF" / "Phi-Q6_K.gguf").string(),
      tiny_gguf({.architecture = "phi3", .context_length = 131072, .file_type = 18}));
  const CommandRun table = run("list", "", false);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("MODEL"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("test-org/Llama-GGUF:F16"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("lmstudio-community/Phi-GGUF:Q6_K"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("131072"), std::string::npos) << table.output;

  const CommandRun json = run("list --json", "", false);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const auto parsed = nlohmann::json::parse(json.output);
  ASSERT_EQ(parsed.size(), 2u) << json.output;
  EXPECT_EQ(parsed[0]["reference"], "test-org/Llama-GGUF:F16");
  EXPECT_EQ(parsed[0]["source"], "huggingface");
  EXPECT_EQ(parsed[0]["architecture"], "llama");
  EXPECT_EQ(parsed[0]["size_bytes"], llama_.size());
  EXPECT_EQ(parsed[0]["path"], snapshot("llama-F16.gguf").string());
  EXPECT_EQ(parsed[1]["reference"], "lmstudio-community/Phi-GGUF:Q6_K");
  EXPECT_EQ(parsed[1]["source"], "lmstudio");
  EXPECT_EQ(parsed[1]["quantization"], "Q6_K");
  EXPECT_EQ(parsed[1]["context_length"], 131072);
  EXPECT_EQ(parsed[1]["architecture"], "phi3");

  // What list shows is what commands take.
  const CommandRun inspect = run("inspect lmstudio-community/Phi-GGUF:Q6_K");
  EXPECT_NE(inspect.output.find("architecture:  phi3"), std::string::npos) << inspect.output;
  const CommandRun env_json = run("list", "PENSIEVE_LIST_JSON=1", false);
  EXPECT_EQ(nlohmann::json::parse(env_json.output, nullptr, false).size(), 2u) << env_json.output;
}

}  // namespace
}  // namespace pensieve::hub
