// Load-time fit end to end: `pensieve serve` refuses a configuration that cannot fit, listing
// every figure, `--ctx-size auto` picks the largest context that fits, and `pensieve inspect`
// prints the very estimate serve checks (both call engine::plan_serving).
#include <gtest/gtest.h>

#include <regex>

#include "server_process.hpp"

namespace pensieve::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::uint64_t kTotal = 16 * kGiB;
constexpr std::uint64_t kReserve = 2 * kGiB;  // the default warning threshold, kept free at load

class LoadFit : public ::testing::Test {
 protected:
  // Runs serve until it either serves or exits.
  std::unique_ptr<ServerProcess> serve(std::vector<std::string> extra) {
    std::vector<std::string> args{"--model", fixture_model(), "--memory-source", meminfo.source()};
    for (auto& a : extra) args.push_back(std::move(a));
    auto server =
        std::make_unique<ServerProcess>(args, dir.path() / ("serve-" + std::to_string(++runs) + ".log"));
    server->wait_until_serving();
    return server;
  }

  CommandResult inspect(std::vector<std::string> extra) {
    std::vector<std::string> argv{pensieve_binary(), "inspect", fixture_model(), "--memory-source",
                                  meminfo.source()};
    for (auto& a : extra) argv.push_back(std::move(a));
    return run_command(argv);
  }

  TempDir dir;
  MeminfoFile meminfo{dir.path() / "meminfo"};
  int runs = 0;
};

// The "(N bytes)" total in a line of output.
std::optional<std::uint64_t> total_bytes(const std::string& text) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(R"(\((\d+) bytes\))"))) return std::nullopt;
  return std::stoull(m[1]);
}

TEST_F(LoadFit, RefusesWithEveryFigureAndInspectPrintsTheSameEstimate) {
  // 24 MiB above the reserve; the default plan (4 slots of the trained 4096 tokens, f16 cache)
  // needs 32 MiB of KV cache alone.
  meminfo.set(kTotal, kReserve + 24 * kMiB);
  auto server = serve({});
  ASSERT_EQ(server->wait_exit(30s), 1) << server->log();
  const std::string log = server->log();
  for (const char* needle :
       {"model does not fit in memory", "weights 1.7 MiB", "KV cache 32.0 MiB", "context 4096 × parallel 4",
        "2.0 KiB per token", "scratch", "24.0 MiB can be used", "2.02 GiB available", "2.00 GiB kept free",
        "lower --parallel", "or free memory"}) {
    EXPECT_NE(log.find(needle), std::string::npos) << needle << " missing from:\n" << log;
  }
  EXPECT_EQ(log.find("serving "), std::string::npos);
  // Refused from the file's metadata, before the weights were read into memory: loaded first,
  // they would be counted twice, once in the estimate and once as memory no longer available.
  EXPECT_EQ(log.find("weights ready"), std::string::npos) << log;

  const auto report = inspect({});
  ASSERT_EQ(report.exit_status, 0) << report.output;
  EXPECT_NE(report.output.find("memory for 4 sequence(s) of 4096 tokens"), std::string::npos)
      << report.output;
  EXPECT_NE(report.output.find("fits                  no"), std::string::npos) << report.output;
  const auto served = total_bytes(log.substr(log.find("model does not fit")));
  const auto inspected = total_bytes(report.output);
  ASSERT_TRUE(served && inspected) << log << report.output;
  EXPECT_EQ(*served, *inspected);
  // Word for word the same verdict.
  const std::string verdict = log.substr(log.find("model does not fit"));
  EXPECT_NE(report.output.find(verdict.substr(0, verdict.find('\n'))), std::string::npos)
      << "serve: " << verdict << "\ninspect: " << report.output;

  // The advice works: the context it names fits.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(use --ctx-size (\d+) or less)"))) << log;
  auto advised = serve({"--ctx-size", m[1]});
  ASSERT_EQ(advised->wait_until_serving(1ms), ServerProcess::State::kServing) << advised->log();
  EXPECT_NE(advised->log().find("(context " + m[1].str() + ", 4 slots)"), std::string::npos)
      << advised->log();
  const std::string advised_log = advised->log();
  EXPECT_LT(advised_log.find("model needs "), advised_log.find("weights ready")) << advised_log;
}

TEST_F(LoadFit, CtxSizeAutoPicksTheLargestContextThatFits) {
  meminfo.set(kTotal, kReserve + 12 * kMiB);
  auto server = serve({"--ctx-size", "auto", "--parallel", "2"});
  ASSERT_EQ(server->wait_until_serving(1ms), ServerProcess::State::kServing) << server->log();
  std::smatch m;
  const std::string log = server->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(\(context (\d+), 2 slots\))"))) << log;
  const std::uint64_t ctx = std::stoull(m[1]);
  EXPECT_LT(ctx, 4096u) << "12 MiB cannot hold the trained context twice (16 MiB of f16 KV cache)";
  EXPECT_EQ(ctx % 256, 0u);
  auto c = server->client();
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(json::parse(health->body)["model"]["context_size"], ctx);

  // inspect agrees that this context fits and the next step does not.
  const auto at = inspect({"--ctx-size", std::to_string(ctx), "--parallel", "2"});
  EXPECT_NE(at.output.find("fits                  yes"), std::string::npos) << at.output;
  const auto above = inspect({"--ctx-size", std::to_string(ctx + 256), "--parallel", "2"});
  EXPECT_NE(above.output.find("fits                  no"), std::string::npos) << above.output;
  const auto automatic = inspect({"--ctx-size", "auto", "--parallel", "2"});
  EXPECT_NE(automatic.output.find("memory for 2 sequence(s) of " + std::to_string(ctx) + " tokens"),
            std::string::npos)
      << automatic.output;
  server->stop();

  // Not even 256 tokens fit: refused, saying so.
  meminfo.set(kTotal, kReserve + 1 * kMiB);
  auto none = serve({"--ctx-size", "auto"});
  ASSERT_EQ(none->wait_exit(30s), 1) << none->log();
  EXPECT_NE(none->log().find("no context size fits: even 256 tokens need"), std::string::npos) << none->log();
}

}  // namespace
}  // namespace pensieve::e2e
