#include "server/memory_wiring.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "support/fake_model.hpp"
#include "support/loopback_clients.hpp"

namespace pensieve::server {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// The real guard reading a meminfo-format file (the --memory-source file: rehearsal path).
class MemoryWiringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meminfo = std::filesystem::temp_directory_path() / ("pensieve-meminfo-" + std::to_string(::getpid()));
    set_available_mib(8192);
    memory::MemoryGuardConfig config;
    config.reader.source = memory::MemorySource(memory::MemorySource::Kind::kMeminfoFile, meminfo.string());
    config.start_sampler = false;
    guard = std::move(memory::MemoryGuard::create(config).value());
    guard->refresh_now();

    backend = std::make_unique<api::testing::ScriptBackend>("Hi", 4096);
    scheduler = std::move(engine::Scheduler::create(*backend, {}).value());
    service = std::make_unique<api::MessagesService>(frontend, *scheduler, api::ModelInfo{"tiny", "Tiny", "2026-01-01T00:00:00Z"});
    memory::ModelFigures figures{2, 4, 2, 32, 32, 64, 128, 257, 4096, 4, 1 << 20};
    MemoryWiring wiring{*guard, *scheduler, figures, 4096, true, json{{"id", "tiny"}}};
    hooks = wire_memory(wiring, *service, [](const std::string&) {});
    start_server({});
  }

  void start_server(std::vector<std::string> api_keys) {
    ServerOptions o;
    o.port = 0;
    o.api_keys = std::move(api_keys);
    server = std::make_unique<HttpServer>(o, *service, hooks);
    ASSERT_TRUE(server->bind().ok());
    thread = std::thread([this] { server->serve(); });
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
  }

  void stop_server() {
    server->stop();
    thread.join();
  }

  void TearDown() override {
    stop_server();
    scheduler->shutdown();
    guard->stop();
    std::filesystem::remove(meminfo);
  }

  void set_available_mib(std::uint64_t mib) {
    std::ofstream(meminfo) << "MemTotal:       16777216 kB\nMemFree:        " << mib * 1024
                           << " kB\nMemAvailable:   " << mib * 1024 << " kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n";
  }

  httplib::Result post() {
    return client->Post("/v1/messages",
                        R"({"model":"m","max_tokens":4,"messages":[{"role":"user","content":"hey"}]})",
                        "application/json");
  }

  std::filesystem::path meminfo;
  std::unique_ptr<memory::MemoryGuard> guard;
  api::testing::ByteFrontend frontend;
  std::unique_ptr<api::testing::ScriptBackend> backend;
  std::unique_ptr<engine::Scheduler> scheduler;
  std::unique_ptr<api::MessagesService> service;
  ServerHooks hooks;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<httplib::Client> client;
  std::thread thread;
};

TEST_F(MemoryWiringTest, CriticalRefusesWith503AndHeadersThenRecovers) {
  auto ok = post();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->get_header_value("x-memory-status"), "safe");
  EXPECT_FALSE(ok->get_header_value("x-available-memory-gb").empty());

  set_available_mib(700);  // below the 1 GiB critical threshold
  guard->refresh_now();
  auto refused = post();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->get_header_value("x-memory-status"), "critical");
  EXPECT_EQ(refused->get_header_value("retry-after"), "5");
  EXPECT_EQ(json::parse(refused->body)["error"]["type"], "overloaded_error");
  auto health = client->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(json::parse(health->body)["memory"]["status"], "critical");

  set_available_mib(8192);
  guard->refresh_now();
  guard->refresh_now();  // hysteresis: recovery may take a clear reading
  auto again = post();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  auto metrics = client->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("pensieve_memory_"), std::string::npos);
}

// /health and /metrics show the slots' prompt cache: the same request twice reuses all but the
// last prompt token the second time.
TEST_F(MemoryWiringTest, HealthAndMetricsShowThePromptCache) {
  auto before = client->Get("/health");
  ASSERT_TRUE(before);
  const json empty = json::parse(before->body)["prompt_cache"];
  EXPECT_EQ(empty["cached_tokens"], 0);
  EXPECT_EQ(empty["hit_rate"], 0.0);
  ASSERT_TRUE(post());
  ASSERT_TRUE(post());
  auto health = client->Get("/health");
  ASSERT_TRUE(health);
  const json cache = json::parse(health->body)["prompt_cache"];
  const std::int64_t reused = cache["prompt_tokens_reused"], computed = cache["prompt_tokens_computed"];
  EXPECT_GT(cache["cached_tokens"].get<std::int64_t>(), 0);
  EXPECT_EQ(computed, reused + 2) << cache;  // the first computed all (n), the second only its last
  EXPECT_DOUBLE_EQ(cache["hit_rate"].get<double>(),
                   static_cast<double>(reused) / static_cast<double>(reused + computed));
  auto metrics = client->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("pensieve_prompt_tokens_reused_total " + std::to_string(reused) + "\n"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("pensieve_prompt_cache_tokens "), std::string::npos);
  // The load a pensieve in front of this one admits against (upstream/prometheus reads it).
  EXPECT_NE(metrics->body.find("\npensieve_requests_waiting 0\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("\npensieve_requests_running "), std::string::npos) << metrics->body;
}

TEST_F(MemoryWiringTest, HeapIsReleasedOnTheReadingAfterARequestEnds) {
  const auto& releases = guard->metrics().heap_releases;
  guard->refresh_now();
  EXPECT_EQ(releases.load(), 0u) << "nothing ended yet";
  auto ok = post();
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200);
  guard->refresh_now();
  EXPECT_EQ(releases.load(), 1u);
  guard->refresh_now();
  EXPECT_EQ(releases.load(), 1u) << "one release per batch of ended generations";
  ASSERT_TRUE(post());
  ASSERT_TRUE(post());
  guard->refresh_now();
  EXPECT_EQ(releases.load(), 2u);
  auto metrics = client->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("pensieve_memory_heap_releases_total 2"), std::string::npos);

  // A request refused before it reached the engine freed its body and JSON too.
  guard->refresh_now();
  ASSERT_EQ(releases.load(), 3u) << "the /metrics response";
  set_available_mib(700);
  guard->refresh_now();
  guard->refresh_now();
  ASSERT_EQ(releases.load(), 3u);
  auto refused = post();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  guard->refresh_now();
  EXPECT_EQ(releases.load(), 4u);
}

TEST_F(MemoryWiringTest, TierChangesAreLogged) {
  std::vector<std::string> lines;
  std::mutex mutex;
  auto hooks = wire_memory(MemoryWiring{*guard, *scheduler, memory::ModelFigures{2, 4, 2, 32, 32, 64, 128, 257, 4096, 4, 1 << 20},
                                        4096, true, json{{"id", "tiny"}}},
                           *service, [&](const std::string& line) {
                             std::lock_guard lock(mutex);
                             lines.push_back(line);
                           });
  guard->refresh_now();
  set_available_mib(700);
  guard->refresh_now();
  set_available_mib(300);
  guard->refresh_now();
  std::lock_guard lock(mutex);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "memory: safe, 8.00 GiB available of 16.00 GiB");
  EXPECT_EQ(lines[1], "memory: safe -> critical, 700.0 MiB available of 16.00 GiB");
  EXPECT_EQ(lines[2], "memory: critical -> emergency, 300.0 MiB available of 16.00 GiB");
}

// With a key set, /health stays open for liveness probes but tells a caller without the key only
// whether work is taken and the memory tier: no model, no memory figures, no cache; the refusal
// of a keyless request carries the tier but no figures either.
TEST_F(MemoryWiringTest, HealthDetailsAndMemoryHeadersAreForKeyholdersOnly) {
  stop_server();
  start_server({"k"});
  auto open = client->Get("/health");
  ASSERT_TRUE(open);
  EXPECT_EQ(open->status, 200);
  EXPECT_EQ(json::parse(open->body), json::parse(R"({"status":"ok","memory":{"status":"safe"}})"));

  auto full = client->Get("/health", httplib::Headers{{"x-api-key", "k"}});
  ASSERT_TRUE(full);
  const json details = json::parse(full->body);
  EXPECT_EQ(details["model"]["id"], "tiny");
  EXPECT_TRUE(details["memory"].contains("available_bytes"));
  EXPECT_TRUE(details.contains("prompt_cache"));

  auto denied = post();
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  EXPECT_FALSE(denied->has_header("x-available-memory-gb"));
  EXPECT_EQ(denied->get_header_value("x-memory-status"), "safe");  // the tier stays open
}

// At critical a generation is refused before its body is read: a 64 MiB upload is cut short by
// the 503 rather than taken in, and the server is back to normal when memory is.
TEST_F(MemoryWiringTest, CriticalRefusesBeforeTheBodyIsRead) {
  set_available_mib(700);
  guard->refresh_now();
  std::size_t sent = 0;
  const std::size_t total = 64u << 20;
  auto refused = pensieve::testing::chunked_upload(*client, "/v1/messages", total, sent);
  EXPECT_LT(sent, total) << "the server read the whole upload";
  if (refused) {  // the client may see its upload cut before it reads the answer
    EXPECT_EQ(refused->status, 503);
    EXPECT_EQ(refused->get_header_value("retry-after"), "5");
  }

  set_available_mib(8192);
  guard->refresh_now();
  guard->refresh_now();  // hysteresis: recovery may take a clear reading
  httplib::Client next("127.0.0.1", server->port());
  auto ok = next.Post("/v1/messages",
                      R"({"model":"m","max_tokens":4,"messages":[{"role":"user","content":"hey"}]})",
                      "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// Below critical, a body is refused before it is read when handling it (a few times its declared
// size) would eat into the memory kept free; a small request still passes, and so does the big
// one once memory is back.
TEST_F(MemoryWiringTest, ABodyTooCostlyForTheMemoryLeftIsRefusedBeforeItIsRead) {
  set_available_mib(1100);  // warning: 76 MiB above the 1 GiB kept free
  guard->refresh_now();
  const std::string big = R"({"model":"m","max_tokens":4,"messages":[{"role":"user","content":")" +
                          std::string(24u << 20, 'a') + R"("}]})";
  auto refused = client->Post("/v1/messages", big, "application/json");
  if (refused) {  // the client may see its upload cut before it reads the answer
    EXPECT_EQ(refused->status, 503) << refused->body;
    EXPECT_EQ(refused->get_header_value("retry-after"), "5");
  }
  httplib::Client small("127.0.0.1", server->port());
  auto ok = small.Post("/v1/messages",
                       R"({"model":"m","max_tokens":4,"messages":[{"role":"user","content":"hey"}]})",
                       "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  std::uint64_t refusals = 0;
  for (const auto& r : guard->metrics().refusals) refusals += r.load();
  EXPECT_EQ(refusals, 1u);

  set_available_mib(8192);
  guard->refresh_now();
  guard->refresh_now();
  httplib::Client again("127.0.0.1", server->port());
  auto passed = again.Post("/v1/messages", big, "application/json");
  ASSERT_TRUE(passed);
  EXPECT_NE(passed->status, 503) << passed->body;
}

}  // namespace
}  // namespace pensieve::server
