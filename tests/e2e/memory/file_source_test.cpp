// The memory guard end to end with `--memory-source file:PATH`: the test rewrites a
// meminfo-format file and watches the real server refuse (503), accept again, cancel a stream in
// an emergency and report it all on /health, /metrics and the memory headers.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "server_process.hpp"

namespace pensieve::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::uint64_t kTotal = 16 * kGiB;
// Default thresholds: warning below 2 GiB, critical below 1 GiB, emergency below 512 MiB.
constexpr std::uint64_t kSafe = 8 * kGiB;
constexpr std::uint64_t kCritical = 768 * kMiB;
constexpr std::uint64_t kEmergency = 256 * kMiB;

class FileSource : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    meminfo.set(kTotal, kSafe);
    std::vector<std::string> args{
        "--model",         fixture_model(),  "--ctx-size",        "4096", "--parallel", "2",
        "--memory-source", meminfo.source(), "--memory-interval", "50"};
    for (auto& a : extra) args.push_back(std::move(a));
    server = std::make_unique<ServerProcess>(args, dir.path() / "server.log");
    ASSERT_EQ(server->wait_until_serving(), ServerProcess::State::kServing) << server->log();
  }

  json health(int* status = nullptr) {
    auto c = server->client();
    auto r = c.Get("/health");
    if (!r) return json();
    if (status) *status = r->status;
    return json::parse(r->body, nullptr, false);
  }

  // Waits until /health reports `tier`; the sampler reads the file every 50 ms.
  void expect_tier(const std::string& tier) {
    json last;
    const bool seen = poll_until(
        [&] {
          last = health();
          return last.is_object() && last["memory"]["status"] == tier;
        },
        10s);
    ASSERT_TRUE(seen) << "health never reported " << tier << "; last: " << last.dump() << "\n"
                      << server->log();
  }

  std::string metric(const std::string& name_and_labels) {
    auto c = server->client();
    auto r = c.Get("/metrics");
    if (!r) return "";
    const auto at = r->body.find("\n" + name_and_labels + " ");
    if (at == std::string::npos) return "";
    const auto from = at + name_and_labels.size() + 2;
    return r->body.substr(from, r->body.find('\n', from) - from);
  }

  TempDir dir;
  MeminfoFile meminfo{dir.path() / "meminfo"};
  std::unique_ptr<ServerProcess> server;
};

void expect_memory_headers(const httplib::Response& r, const std::string& what, const std::string& status) {
  EXPECT_EQ(r.get_header_value("x-memory-status"), status) << what;
  const std::string gb = r.get_header_value("x-available-memory-gb");
  EXPECT_FALSE(gb.empty()) << what;
  EXPECT_NO_THROW((void)std::stod(gb)) << what << ": " << gb;
}

// Cached prompts are the first memory given back: half of them when memory enters warning, all
// at critical — their KV blocks free — while a generation the guard admitted runs to its end.
TEST_F(FileSource, PromptCacheShrinksAtWarningAndEmptiesAtCritical) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto c = server->client();
  for (int i = 0; i < 4; ++i) {
    auto r = post_message(c, 4, false, "Cached prompt number " + std::to_string(i) + ", all different.");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  auto cache = [&] { return health()["prompt_cache"]; };
  ASSERT_EQ(cache()["cached_sequences"], 4) << cache().dump();
  const std::uint64_t total = cache()["kv_pool"]["total_blocks"];
  EXPECT_LT(cache()["kv_pool"]["free_blocks"].get<std::uint64_t>(), total);

  // A long generation admitted while memory is fine must not be lost to what follows.
  StreamingRequest running(*server, message_body(3000, true, "Go on and on"));
  ASSERT_TRUE(running.wait_for([](const SseEvent& e) { return e.event == "content_block_delta"; }, 10s));

  meminfo.set(kTotal, 1536 * kMiB);  // warning: below 2 GiB
  ASSERT_NO_FATAL_FAILURE(expect_tier("warning"));
  json seen;
  ASSERT_TRUE(poll_until(
      [&] {
        seen = cache();
        return seen["cached_sequences"] == 2;
      },
      10s))
      << seen.dump();

  meminfo.set(kTotal, kCritical);
  ASSERT_NO_FATAL_FAILURE(expect_tier("critical"));
  ASSERT_TRUE(poll_until(
      [&] {
        seen = cache();
        return seen["cached_sequences"] == 0;
      },
      10s))
      << seen.dump();
  EXPECT_EQ(seen["cached_tokens"], 0);

  ASSERT_TRUE(running.wait_done(60s));
  EXPECT_EQ(running.status(), 200);
  bool ended = false;
  for (const SseEvent& e : running.events()) {
    EXPECT_NE(e.event, "error") << e.data.dump();
    if (e.event == "message_delta") ended = e.data["delta"]["stop_reason"] == "max_tokens";
  }
  EXPECT_TRUE(ended) << "the admitted generation ran to max_tokens";
  // Still critical: what it leaves in the cache goes at the next reading, and every block is back.
  ASSERT_TRUE(poll_until(
      [&] {
        seen = cache();
        return seen["cached_sequences"] == 0 && seen["kv_pool"]["free_blocks"].get<std::uint64_t>() == total;
      },
      10s))
      << seen.dump();
  // Once memory is back, finished requests are cached again.
  meminfo.set(kTotal, kSafe);
  ASSERT_NO_FATAL_FAILURE(expect_tier("safe"));
  auto after = post_message(c, 4, false, "Cached again after the pressure.");
  ASSERT_TRUE(after);
  ASSERT_EQ(after->status, 200) << after->body;
  EXPECT_EQ(cache()["cached_sequences"], 1);
}

// A KV pool too small for a request: a 400 that says what to change, and the server carries on.
TEST_F(FileSource, APoolTooSmallForARequestIsAClearError) {
  ASSERT_NO_FATAL_FAILURE(start({"--kv-budget", "256KiB"}));  // two blocks of 64 tokens
  auto c = server->client();
  auto refused = post_message(c, 1000);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400) << refused->body;
  const json body = json::parse(refused->body, nullptr, false);
  EXPECT_EQ(body["error"]["type"], "invalid_request_error") << refused->body;
  const std::string message = body["error"]["message"];
  EXPECT_NE(message.find("KV cache pool holds 128 tokens"), std::string::npos) << message;
  EXPECT_NE(message.find("--kv-budget"), std::string::npos) << message;
  auto fits = post_message(c, 8);
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 200) << fits->body;
}

TEST_F(FileSource, CriticalRefusesWith503ThenSafeAcceptsAgain) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto c = server->client();
  auto ok = post_message(c, 8);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(ok->get_header_value("x-memory-status"), "safe");
  EXPECT_EQ(ok->get_header_value("x-available-memory-gb"), "8.00");

  meminfo.set(kTotal, kCritical);
  ASSERT_NO_FATAL_FAILURE(expect_tier("critical"));
  auto refused = post_message(c, 8);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->get_header_value("x-memory-status"), "critical");
  EXPECT_EQ(refused->get_header_value("x-available-memory-gb"), "0.75");
  EXPECT_FALSE(refused->get_header_value("retry-after").empty());
  EXPECT_GT(std::stoi(refused->get_header_value("retry-after")), 0);
  EXPECT_FALSE(refused->get_header_value("request-id").empty());
  const json body = json::parse(refused->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << refused->body;
  EXPECT_EQ(body["type"], "error");
  EXPECT_EQ(body["error"]["type"], "overloaded_error");
  const std::string message = body["error"]["message"];
  EXPECT_NE(message.find("768.0 MiB available"), std::string::npos) << message;
  EXPECT_NE(message.find("needs about"), std::string::npos) << message;
  EXPECT_NE(message.find("1.00 GiB free"), std::string::npos) << message;

  // Streaming requests are refused the same way, before any event is sent.
  auto refused_stream = post_message(c, 8, /*stream=*/true);
  ASSERT_TRUE(refused_stream);
  EXPECT_EQ(refused_stream->status, 503);
  EXPECT_EQ(json::parse(refused_stream->body, nullptr, false)["error"]["type"], "overloaded_error");

  meminfo.set(kTotal, kSafe);
  ASSERT_NO_FATAL_FAILURE(expect_tier("safe"));
  auto again = post_message(c, 8);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(json::parse(again->body)["type"], "message");
  EXPECT_EQ(again->get_header_value("x-memory-status"), "safe");

  EXPECT_EQ(metric("pensieve_memory_refusals_total{reason=\"tier_critical\"}"), "2");
  EXPECT_EQ(metric("pensieve_memory_tier_transitions_total{to=\"critical\"}"), "1");
  EXPECT_EQ(metric("pensieve_memory_admitted_total"), "2");
  EXPECT_NE(server->log().find("memory: safe -> critical, 768.0 MiB available"), std::string::npos)
      << server->log();
}

TEST_F(FileSource, HealthIs503WithTheSameBodyWhileNotAccepting) {
  ASSERT_NO_FATAL_FAILURE(start());
  int status = 0;
  json ok = health(&status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(ok["status"], "ok");
  EXPECT_EQ(ok["memory"]["accepting_requests"], true);
  EXPECT_EQ(ok["memory"]["available_bytes"], kSafe);
  EXPECT_DOUBLE_EQ(ok["memory"]["available_gb"].get<double>(), 8.0);
  EXPECT_EQ(ok["memory"]["total_bytes"], kTotal);
  EXPECT_GT(ok["memory"]["process_rss_bytes"].get<std::uint64_t>(), 0u);
  // A KV pool for two slots of 4096 tokens × 2 KiB per token (serve's f16 cache), in blocks of 64
  // tokens that take memory only when used: none yet.
  EXPECT_EQ(ok["memory"]["kv_cache_bytes"], 0u);
  const json& pool = ok["prompt_cache"]["kv_pool"];
  EXPECT_EQ(pool["total_blocks"].get<std::uint64_t>() * pool["block_bytes"].get<std::uint64_t>(),
            2u * 4096 * 2048);
  EXPECT_EQ(pool["free_blocks"], pool["total_blocks"]);
  EXPECT_EQ(ok["memory"]["thresholds"]["critical_below_bytes"], kGiB);
  EXPECT_EQ(ok["model"]["context_size"], 4096);

  meminfo.set(kTotal, kCritical);
  ASSERT_NO_FATAL_FAILURE(expect_tier("critical"));
  json degraded = health(&status);
  EXPECT_EQ(status, 503);
  EXPECT_EQ(degraded["status"], "degraded");
  EXPECT_EQ(degraded["memory"]["accepting_requests"], false);
  EXPECT_EQ(degraded["memory"]["available_bytes"], kCritical);
  EXPECT_EQ(degraded["model"], ok["model"]);
  EXPECT_EQ(metric("pensieve_memory_accepting_requests"), "0");
  EXPECT_EQ(metric("pensieve_memory_tier"), "2");
}

TEST_F(FileSource, MemoryHeadersOnEveryResponse) {
  ASSERT_NO_FATAL_FAILURE(start({"--api-key", "sk-e2e"}));
  auto c = server->client();
  c.set_default_headers({{"x-api-key", "sk-e2e"}});
  auto check = [&](const httplib::Result& r, int expected_status, const std::string& what) {
    ASSERT_TRUE(r) << what;
    EXPECT_EQ(r->status, expected_status) << what << ": " << r->body;
    expect_memory_headers(*r, what, "safe");
  };
  check(c.Get("/health"), 200, "GET /health");
  check(c.Get("/metrics"), 200, "GET /metrics");
  check(c.Get("/v1/models"), 200, "GET /v1/models");
  check(c.Get("/nowhere"), 404, "GET /nowhere");
  check(c.Post("/v1/messages/count_tokens", message_body(8, false), "application/json"), 200, "count_tokens");
  check(c.Post("/v1/messages", "{not json", "application/json"), 400, "bad JSON");
  check(post_message(c, 4), 200, "POST /v1/messages");
  check(post_message(c, 4, /*stream=*/true), 200, "streaming POST /v1/messages");
  // A request refused for its key learns the tier, but no memory figures.
  httplib::Client anonymous("127.0.0.1", server->port());
  auto refused_key = anonymous.Get("/v1/models");
  ASSERT_TRUE(refused_key);
  EXPECT_EQ(refused_key->status, 401);
  EXPECT_EQ(refused_key->get_header_value("x-memory-status"), "safe");
  EXPECT_FALSE(refused_key->has_header("x-available-memory-gb"));

  meminfo.set(kTotal, kCritical);
  ASSERT_NO_FATAL_FAILURE(expect_tier("critical"));
  auto refused = post_message(c, 4);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  expect_memory_headers(*refused, "refused", "critical");
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  expect_memory_headers(*models, "GET /v1/models while critical", "critical");
}

TEST_F(FileSource, RequestThatCouldNeverFitGets400WithTheNumbers) {
  ASSERT_NO_FATAL_FAILURE(start());
  // A 1 GiB machine: keeping the critical threshold (1 GiB) free leaves no request any room,
  // however idle the server. That is not "come back later" but "never": 400.
  meminfo.set(1 * kGiB, 1 * kGiB);
  ASSERT_NO_FATAL_FAILURE(expect_tier("warning"));
  auto c = server->client();
  auto r = post_message(c, 64);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_TRUE(r->get_header_value("retry-after").empty());
  const json body = json::parse(r->body, nullptr, false);
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  const std::string message = body["error"]["message"];
  for (const char* needle : {"can never fit", "needs about", "1.00 GiB total", "for the server and model",
                             "1.00 GiB kept free", "Lower max_tokens"}) {
    EXPECT_NE(message.find(needle), std::string::npos) << needle << " missing from: " << message;
  }
  EXPECT_EQ(metric("pensieve_memory_refusals_total{reason=\"never_fits\"}"), "1");

  meminfo.set(kTotal, kSafe);
  ASSERT_NO_FATAL_FAILURE(expect_tier("safe"));
  auto ok = post_message(c, 64);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST_F(FileSource, AFailedReadingIsUnknownAndLoggedNeverSilentlySafe) {
  ASSERT_NO_FATAL_FAILURE(start({"--memory-refuse-unknown"}));
  std::filesystem::remove(dir.path() / "meminfo");
  ASSERT_NO_FATAL_FAILURE(expect_tier("unknown"));
  int status = 0;
  const json h = health(&status);
  EXPECT_EQ(status, 503);
  EXPECT_TRUE(h["memory"]["available_bytes"].is_null());
  auto c = server->client();
  auto r = post_message(c, 8);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("x-memory-status"), "unknown");
  EXPECT_EQ(r->get_header_value("x-available-memory-gb"), "unknown");
  EXPECT_NE(json::parse(r->body)["error"]["message"].get<std::string>().find("memory status is unknown"),
            std::string::npos)
      << r->body;
  const std::string log = server->log();
  EXPECT_NE(log.find("memory: safe -> unknown (host memory unknown: "), std::string::npos) << log;
  EXPECT_NE(metric("pensieve_memory_failed_samples_total"), "0");

  meminfo.set(kTotal, kSafe);
  ASSERT_NO_FATAL_FAILURE(expect_tier("safe"));
  auto ok = post_message(c, 8);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

bool is_text_delta(const SseEvent& e) {
  return e.event == "content_block_delta";
}
bool is_error(const SseEvent& e) {
  return e.event == "error";
}

TEST_F(FileSource, EmergencyDuringAStreamEndsItWithAnErrorEventAndTheServerStaysUp) {
  ASSERT_NO_FATAL_FAILURE(start());
  // Greedy decoding of this prompt runs to max_tokens: ~4000 tokens take about a second or more,
  // far longer than the 50 ms the sampler needs to see the emergency. ("Tell me a story." ends
  // its turn after 2570.)
  StreamingRequest stream(*server, message_body(4000, /*stream=*/true, "Go on and on"));
  ASSERT_TRUE(stream.wait_for(is_text_delta, 30s)) << server->log();
  EXPECT_EQ(stream.status(), 200);

  meminfo.set(kTotal, kEmergency);
  ASSERT_TRUE(stream.wait_for(is_error, 20s)) << "the stream was not cancelled\n" << server->log();
  ASSERT_TRUE(stream.wait_done(10s));
  const auto events = stream.events();
  const auto error = std::find_if(events.begin(), events.end(), is_error);
  ASSERT_NE(error, events.end());
  EXPECT_EQ(error->data["type"], "error");
  EXPECT_EQ(error->data["error"]["type"], "overloaded_error") << error->data.dump();
  EXPECT_EQ(error->data["error"]["message"].get<std::string>().rfind(
                "the request was cancelled: memory emergency: 256.0 MiB available, below the emergency threshold "
                "of 512.0 MiB",
                0),
            0u)
      << error->data.dump();
  EXPECT_EQ(error + 1, events.end()) << "events after the error: " << (error + 1)->event;
  EXPECT_TRUE(std::none_of(events.begin(), events.end(),
                           [](const SseEvent& e) { return e.event == "message_stop"; }));

  // Still up, and saying why it refuses.
  EXPECT_TRUE(server->running());
  int status = 0;
  json h = health(&status);
  EXPECT_EQ(status, 503);
  EXPECT_EQ(h["memory"]["status"], "emergency");
  EXPECT_EQ(h["memory"]["accepting_requests"], false);
  EXPECT_EQ(metric("pensieve_memory_emergency_cancellations_total"), "1");
  EXPECT_NE(server->log().find("memory emergency: 256.0 MiB available"), std::string::npos) << server->log();
  auto c = server->client();
  auto refused = post_message(c, 8);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->get_header_value("x-memory-status"), "emergency");

  meminfo.set(kTotal, kSafe);
  ASSERT_NO_FATAL_FAILURE(expect_tier("safe"));
  auto ok = post_message(c, 8);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["stop_reason"], "max_tokens");
}

TEST_F(FileSource, EmergencyDuringANonStreamedRequestAnswers503) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto pending = std::async(std::launch::async, [this] {
    auto c = server->client();
    return post_message(c, 4000);
  });
  // Once admitted, the generation takes a free slot at once; then the floor goes.
  ASSERT_TRUE(poll_until([&] { return metric("pensieve_memory_admitted_total") == "1"; }, 30s))
      << server->log();
  meminfo.set(kTotal, kEmergency);
  ASSERT_EQ(pending.wait_for(20s), std::future_status::ready) << "the request was not cancelled\n"
                                                              << server->log();
  auto r = pending.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  const json body = json::parse(r->body, nullptr, false);
  EXPECT_EQ(body["error"]["type"], "overloaded_error") << r->body;
  EXPECT_NE(body["error"]["message"].get<std::string>().find("memory emergency: 256.0 MiB available"),
            std::string::npos)
      << r->body;
  EXPECT_EQ(r->get_header_value("retry-after"), "5");
  EXPECT_EQ(r->get_header_value("x-memory-status"), "emergency");
  EXPECT_TRUE(server->running());
  EXPECT_EQ(metric("pensieve_memory_emergency_cancellations_total"), "1");
}

}  // namespace
}  // namespace pensieve::e2e
