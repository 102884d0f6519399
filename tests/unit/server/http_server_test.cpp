#include "server/http_server.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <thread>

#include "support/fake_model.hpp"
#include "support/loopback_clients.hpp"

namespace pensieve::server {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class ServerTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> keys = {}, std::string script = "Hello!",
             std::size_t max_body = 32u << 20) {
    backend = std::make_unique<api::testing::ScriptBackend>(script, 1 << 20);
    scheduler = std::move(engine::Scheduler::create(*backend, {}).value());
    service = std::make_unique<api::MessagesService>(frontend, *scheduler,
                                                     api::ModelInfo{"tiny", "Tiny", "2026-01-01T00:00:00Z"});
    ServerOptions o;
    o.port = 0;
    o.api_keys = std::move(keys);
    o.max_body_bytes = max_body;
    o.ping_interval = 200ms;
    if (tweak_options) tweak_options(o);
    ServerHooks hooks;
    hooks.log = [this](const std::string& line) {
      std::lock_guard lock(log_mutex);
      log_lines.push_back(line);
    };
    if (tweak_hooks) tweak_hooks(hooks);
    server = std::make_unique<HttpServer>(o, *service, hooks);
    ASSERT_TRUE(server->bind().ok());
    thread = std::thread([this] { server->serve(); });
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    client->set_read_timeout(10, 0);
  }

  void TearDown() override {
    if (server) server->stop();
    if (thread.joinable()) thread.join();
    if (scheduler) scheduler->shutdown();
  }

  bool logged(const std::string& needle) {
    // httplib logs after the response is written, so a line may trail the client a little.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(log_mutex);
        for (const auto& line : log_lines) {
          if (line.find(needle) != std::string::npos) return true;
        }
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  static std::string body(std::string text, bool stream = false, int max_tokens = 64) {
    return json{{"model", "claude-x"},
                {"max_tokens", max_tokens},
                {"stream", stream},
                {"messages", {{{"role", "user"}, {"content", text}}}}}
        .dump();
  }

  std::function<void(ServerOptions&)> tweak_options;
  std::function<void(ServerHooks&)> tweak_hooks;
  api::testing::ByteFrontend frontend;
  std::unique_ptr<api::testing::ScriptBackend> backend;
  std::unique_ptr<engine::Scheduler> scheduler;
  std::unique_ptr<api::MessagesService> service;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<httplib::Client> client;
  std::thread thread;
  std::mutex log_mutex;
  std::vector<std::string> log_lines;
};

TEST_F(ServerTest, MessagesWithQueryStringAndRequestId) {
  start();
  auto res = client->Post("/v1/messages?beta=true", body("hi"), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("request-id").rfind("req_", 0), 0u);
  auto m = json::parse(res->body);
  EXPECT_EQ(m["content"][0]["text"], "Hello!");
  EXPECT_EQ(m["usage"]["input_tokens"].get<int>() + m["usage"]["cache_creation_input_tokens"].get<int>(), 2);
}

TEST_F(ServerTest, HeadAndHello) {
  start({"k"});
  auto head = client->Head("/");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  auto hello = client->Head("/api/hello");
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->status, 200);
}

TEST_F(ServerTest, AuthenticationEnvelope) {
  start({"sekret"});
  auto res = client->Get("/v1/models");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  auto e = json::parse(res->body);
  EXPECT_EQ(e["type"], "error");
  EXPECT_EQ(e["error"]["type"], "authentication_error");
  EXPECT_EQ(e["request_id"], res->get_header_value("request-id"));

  auto ok = client->Get("/v1/models", httplib::Headers{{"x-api-key", "sekret"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  auto bearer = client->Get("/v1/models", httplib::Headers{{"Authorization", "Bearer sekret"}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  auto wrong = client->Get("/v1/models", httplib::Headers{{"x-api-key", "nope"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
}

TEST_F(ServerTest, NotFoundEnvelope) {
  start();
  auto res = client->Get("/v2/nothing");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  auto e = json::parse(res->body);
  EXPECT_EQ(e["error"]["type"], "not_found_error");
  EXPECT_FALSE(res->get_header_value("request-id").empty());
}

TEST_F(ServerTest, BodyTooLarge) {
  start({}, "x", 1024);
  auto res = client->Post("/v1/messages", body(std::string(4096, 'a')), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "request_too_large");
}

// The limit holds for a body sent in chunks (no Content-Length) too: nothing past it is kept, a
// moderate excess is answered 413, a huge upload is cut off rather than read, and the server goes
// on serving.
TEST_F(ServerTest, ChunkedBodyPastTheLimitIsRefusedWithoutKeepingIt) {
  start({}, "x", 64 << 10);
  std::size_t sent = 0;
  auto res = pensieve::testing::chunked_upload(*client, "/v1/messages", 160 << 10, sent);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "request_too_large");
  EXPECT_TRUE(logged("413 rejected: "));

  // 64 MiB: far more than the socket buffers hold, so the upload cannot end unless it is read.
  httplib::Client huge("127.0.0.1", server->port());
  (void)pensieve::testing::chunked_upload(huge, "/v1/messages", 64u << 20, sent);
  EXPECT_LT(sent, 64u << 20) << "the server read the whole upload";

  httplib::Client next("127.0.0.1", server->port());
  auto ok = next.Post("/v1/messages/count_tokens",
                      R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// A POST with neither a length nor chunks has an empty body: the JSON error, not a read failure.
TEST_F(ServerTest, APostWithoutABodyIsEmptyJson) {
  start();
  const std::string reply = pensieve::testing::exchange_until_close(
      server->port(), "POST /v1/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_NE(reply.find("the body is not valid JSON"), std::string::npos) << reply;
}

TEST_F(ServerTest, ValidationErrorIsLogged) {
  start();
  auto res = client->Post("/v1/messages", R"({"model":"m","messages":[]})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["error"]["message"], "max_tokens: Field required");
  EXPECT_TRUE(logged("400 rejected: max_tokens: Field required"));
}

TEST_F(ServerTest, StreamingIsServerSentEvents) {
  start();
  std::string received;
  auto res = client->Post("/v1/messages", httplib::Headers{}, body("hi", true), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  EXPECT_EQ(res->body.rfind("event: message_start\n", 0), 0u);
  EXPECT_NE(res->body.find("event: message_stop\n"), std::string::npos);
}

TEST_F(ServerTest, CountTokensAndModel) {
  start();
  auto res =
      client->Post("/v1/messages/count_tokens",
                   R"({"model":"m","messages":[{"role":"user","content":"abc"}]})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["input_tokens"], 3);
  auto model = client->Get("/v1/models/claude-sonnet-4-5");
  ASSERT_TRUE(model);
  EXPECT_EQ(json::parse(model->body)["id"], "claude-sonnet-4-5");
}

// A client that hangs up mid-stream frees its slot promptly, and the server stays healthy.
TEST_F(ServerTest, DisconnectCancelsGeneration) {
  start({}, std::string(1 << 19, 'z'));
  const int fd = pensieve::testing::connect_loopback(server->port());
  ASSERT_GE(fd, 0);
  const std::string payload = body("hi", true, 1 << 19);
  const std::string request =
      "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(payload.size()) + "\r\n\r\n" + payload;
  ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  char buf[4096];
  ASSERT_GT(read(fd, buf, sizeof buf), 0);
  while (scheduler->stats().active == 0) std::this_thread::sleep_for(1ms);
  close(fd);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (scheduler->stats().active != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(scheduler->stats().active, 0u);
  EXPECT_TRUE(logged("cancelled: 2 prompt tokens"));
  EXPECT_TRUE(logged("(client disconnected)"));

  auto res = client->Post("/v1/messages", body("hi", false, 3), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  // The same prompt again: its first token may be found in the slot's cache, if the cancelled
  // request's prompt step ran before the hang-up was noticed.
  EXPECT_TRUE(logged("max_tokens: 2 prompt tokens (0 cached), 3 output tokens; queued ") ||
              logged("max_tokens: 2 prompt tokens (1 cached), 3 output tokens; queued "));
  // Where its time went: the prompt's computed tokens and rate, the first token, the rest.
  EXPECT_TRUE(logged(" computed, "));
  EXPECT_TRUE(logged(", first token after "));
  EXPECT_TRUE(logged(", 2 more in "));
}

// A stream read to its end and then hung up on (as every client does) was not cut short: its log
// line says how it ended and nothing of a disconnection.
TEST_F(ServerTest, AStreamReadToItsEndIsNotLoggedAsDisconnected) {
  start();
  {
    httplib::Client once("127.0.0.1", server->port());
    auto res = once.Post("/v1/messages", body("hi", true, 3), "application/json");
    ASSERT_TRUE(res);
    EXPECT_NE(res->body.find("event: message_stop"), std::string::npos);
  }  // the connection closes here
  ASSERT_TRUE(logged("max_tokens: 2 prompt tokens"));
  std::this_thread::sleep_for(200ms);  // the close reaches the server before any late log line
  std::lock_guard lock(log_mutex);
  for (const auto& line : log_lines) EXPECT_EQ(line.find("(client disconnected)"), std::string::npos) << line;
}

// An idle keep-alive connection does not hold up stop() until its keep-alive timeout (60 s).
TEST_F(ServerTest, StopDoesNotWaitForIdleKeepAliveConnections) {
  start();
  client->set_keep_alive(true);
  auto res = client->Get("/v1/models");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  server->stop();
  thread.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
}

TEST_F(ServerTest, DrainRefusesNewWork) {
  start();
  server->begin_drain();
  auto res = client->Post("/v1/messages", body("hi"), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "overloaded_error");
  EXPECT_EQ(res->get_header_value("retry-after"), "5");
}

// A stop() that lands while serve() is still starting (as a SIGTERM right at start-up, or a
// short test's TearDown, can) must still end serve(); a lost stop hangs the join below.
TEST_F(ServerTest, StopRightAfterServeBeginsAlwaysReturns) {
  for (int i = 0; i < 200; ++i) {
    ASSERT_NO_FATAL_FAILURE(start());
    server->stop();
    thread.join();
    scheduler->shutdown();
  }
}

// Connections past a client's cap make room by closing the ones idle longest: a client that
// holds many open and silent cannot lock itself, or anyone behind the same address, out.
TEST_F(ServerTest, ConnectionsPastAClientsCapMakeRoomByClosingIdleOnes) {
  tweak_options = [](ServerOptions& o) { o.max_connections_per_client = 8; };
  start();
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) {
    const int fd = pensieve::testing::connect_loopback(server->port());
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  auto res = client->Get("/v1/models");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_LE(server->connections(), 8u);
  EXPECT_GE(server->connections_evicted() + 8, 20u);
  for (int fd : idle) close(fd);
}

// 529 is the API's "overloaded" (clients retry it), and its status line says so.
TEST_F(ServerTest, OverloadedHasItsOwnReasonPhrase) {
  tweak_hooks = [](ServerHooks& h) {
    h.refuse_before_reading = [](std::uint64_t) { return std::optional<api::ApiError>(api::overloaded()); };
  };
  start();
  const std::string payload = body("hi");
  const std::string reply = pensieve::testing::exchange_until_close(
      server->port(), "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                          std::to_string(payload.size()) + "\r\n\r\n" + payload);
  EXPECT_EQ(reply.rfind("HTTP/1.1 529 Overloaded\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("retry-after: 5"), std::string::npos) << reply;
}

// HEAD answers a GET route's headers, its length included, and no body.
TEST_F(ServerTest, HeadHasTheLengthButNoBody) {
  start();
  const std::string reply = pensieve::testing::exchange_until_close(
      server->port(), "HEAD /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Length: "), std::string::npos) << reply;
  EXPECT_EQ(reply.substr(reply.find("\r\n\r\n") + 4), "") << reply;
}

}  // namespace
}  // namespace pensieve::server
