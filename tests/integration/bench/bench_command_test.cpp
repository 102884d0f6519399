// `pensieve bench` run as a real process on a fixture model. Figures are checked for shape and
// sanity only (positive, finite, the right counts): no timing thresholds, which would flake on a
// shared machine.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../../support/command_run.hpp"

namespace pensieve {
namespace {

struct CommandRun {
  int exit_code = -1;
  std::string out;  // stdout only
  std::string err;  // stderr only
};

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// stdout and stderr kept apart: the JSON must be all of stdout.
CommandRun run_bench(const std::string& args) {
  const std::filesystem::path err_file =
      std::filesystem::temp_directory_path() / ("pensieve-bench-" + std::to_string(::getpid()) + ".err");
  const auto shell =
      testing::run_shell(std::string(PENSIEVE_CLI_BINARY) + " bench " + args + " 2>" + err_file.string());
  CommandRun run{shell.exit_code, shell.output, slurp(err_file)};
  std::filesystem::remove(err_file);
  return run;
}

std::string fixture(const std::string& file) {
  return std::string(PENSIEVE_FIXTURES) + "/models/" + file;
}

bool positive_finite(const nlohmann::json& v) {
  return v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() > 0;
}

TEST(BenchCommandTest, JsonHasEveryFigureAndTheRequestedCounts) {
  const std::string model = fixture("llama-q8_0.gguf");
  const CommandRun run = run_bench(model + " -t 2 -p 32 -n 8 -r 2 --json");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto j = nlohmann::json::parse(run.out);  // all of stdout is the one object
  EXPECT_EQ(j["model"], model);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["n_prompt"], 32);
  EXPECT_EQ(j["n_gen"], 8);
  EXPECT_EQ(j["reps"], 2);
  EXPECT_FALSE(j["isa"].get<std::string>().empty());
  for (const char* key : {"pp_tokens_per_s", "tg_tokens_per_s", "weight_bytes", "peak_rss_bytes",
                          "decode_bytes_per_token", "params"}) {
    EXPECT_TRUE(positive_finite(j[key])) << key << ": " << j[key];
  }
  for (const char* key : {"pp_tokens_per_s_stddev", "tg_tokens_per_s_stddev"}) {
    ASSERT_TRUE(j[key].is_number()) << key;
    EXPECT_GE(j[key].get<double>(), 0) << key;
  }
  ASSERT_EQ(j["pp_samples"].size(), 2u);
  ASSERT_EQ(j["tg_samples"].size(), 2u);
  for (const auto& s : j["tg_samples"]) EXPECT_TRUE(positive_finite(s)) << s;
  const auto& e = j["memory_estimate"];
  EXPECT_EQ(e["weights_bytes"], j["weight_bytes"]);
  EXPECT_TRUE(positive_finite(e["kv_cache_bytes"]));
  EXPECT_EQ(e["total_bytes"].get<std::uint64_t>(), e["weights_bytes"].get<std::uint64_t>() +
                                                       e["kv_cache_bytes"].get<std::uint64_t>() +
                                                       e["scratch_bytes"].get<std::uint64_t>());
  EXPECT_GE(j["peak_rss_bytes"].get<std::uint64_t>(), j["rss_before_load_bytes"].get<std::uint64_t>());
  EXPECT_NE(run.err.find("warm-up"), std::string::npos) << run.err;  // progress goes to stderr
}

TEST(BenchCommandTest, TableNamesTheModelAndBothTests) {
  const CommandRun run = run_bench(fixture("llama-q4_k_m.gguf") + " -t 1 -p 16 -n 4 -r 1");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("| llama-q4_k_m.gguf"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("pp16"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("tg4"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("Q4_K"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("peak RSS"), std::string::npos) << run.out;
}

TEST(BenchCommandTest, ZeroLengthSkipsATest) {
  const CommandRun run = run_bench(fixture("llama-q8_0.gguf") + " -t 1 -p 0 -n 4 -r 1 --json");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_TRUE(j["pp_tokens_per_s"].is_null());
  EXPECT_TRUE(j["pp_samples"].empty());
  EXPECT_TRUE(positive_finite(j["tg_tokens_per_s"]));
}

TEST(BenchCommandTest, MemoryBandwidthWithASmallBuffer) {
  const CommandRun run = run_bench("--memory-bandwidth --bandwidth-bytes 16MiB -t 2 --json");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_TRUE(positive_finite(j["read_bandwidth_gb_per_s"])) << j;
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["bandwidth_buffer_bytes"], 16u << 20);
}

TEST(BenchCommandTest, MemoryBandwidthWithAModelGivesTheDecodeShare) {
  const CommandRun run = run_bench(fixture("llama-q8_0.gguf") +
                                   " -t 1 -p 0 -n 4 -r 1 --memory-bandwidth --bandwidth-bytes 8MiB --json");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_TRUE(positive_finite(j["read_bandwidth_gb_per_s"])) << j;
  EXPECT_TRUE(positive_finite(j["decode_bandwidth_fraction"])) << j;
  // The run bracketed by readings: its share, its one run, and the two readings around it.
  EXPECT_TRUE(positive_finite(j["decode_bandwidth_fraction_bracketed"])) << j;
  ASSERT_EQ(j["bracketed_decode_tokens_per_s"].size(), 1u) << j;
  ASSERT_EQ(j["bracketed_read_bandwidth_gb_per_s"].size(), 2u) << j;
  for (const auto& reading : j["bracketed_read_bandwidth_gb_per_s"])
    EXPECT_TRUE(positive_finite(reading)) << j;
}

TEST(BenchCommandTest, BadInputFailsWithAMessage) {
  CommandRun run = run_bench("/nonexistent/model.gguf -p 4 -n 2 -r 1");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("/nonexistent/model.gguf"), std::string::npos) << run.err;

  run = run_bench(fixture("llama-q8_0.gguf") + " -r 0");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("repetitions"), std::string::npos) << run.err;

  run = run_bench(fixture("manifest.json") + " -p 4 -n 2 -r 1");  // not a GGUF file
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("manifest.json"), std::string::npos) << run.err;

  run = run_bench(fixture("llama-q8_0.gguf") + " -p 0 -n 0");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("nothing to measure"), std::string::npos) << run.err;

  run = run_bench("");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("MODEL"), std::string::npos) << run.err;

  run = run_bench("--memory-bandwidth --bandwidth-bytes lots");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("--bandwidth-bytes"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace pensieve
