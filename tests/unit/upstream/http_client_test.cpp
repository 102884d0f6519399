#include "upstream/http_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "test_server.hpp"

namespace pensieve::upstream {
namespace {

using testing::Gate;
using testing::ServerRequest;
using testing::TestServer;

// What an exchange told its handlers, in order.
struct Recorder {
  std::mutex mutex;
  std::condition_variable cv;
  int status = 0;
  HeaderList headers;
  std::vector<std::string> pieces;
  int heads = 0;
  int ends = 0;
  std::optional<std::string> error;
  bool reached = false;
  std::function<void(std::string_view)> on_piece;  // called outside the lock

  HttpClient::Handlers handlers() {
    HttpClient::Handlers h;
    h.on_head = [this](int s, const HeaderList& hs) {
      std::lock_guard lock(mutex);
      status = s;
      headers = hs;
      ++heads;
    };
    h.on_data = [this](std::string_view bytes) {
      {
        std::lock_guard lock(mutex);
        EXPECT_EQ(heads, 1) << "body bytes before the head";
        pieces.emplace_back(bytes);
      }
      if (on_piece) on_piece(bytes);
    };
    h.on_end = [this](std::optional<std::string> e, bool r) {
      std::lock_guard lock(mutex);
      ++ends;
      error = std::move(e);
      reached = r;
      cv.notify_all();
    };
    return h;
  }

  void wait_end() {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::minutes(1), [&] { return ends > 0; })) << "on_end never came";
  }

  std::string body() {
    std::lock_guard lock(mutex);
    std::string out;
    for (const auto& p : pieces) out += p;
    return out;
  }

  std::string header(const std::string& name) {
    std::lock_guard lock(mutex);
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return {};
  }
};

HttpClient::Request post(std::string body) {
  HttpClient::Request request;
  request.target = "/v1/chat/completions";
  request.body = std::move(body);
  request.headers = {{"Authorization", "Bearer k"}};
  return request;
}

// One exchange on a client of its own, run to its end. The client is destroyed before this
// returns, so a handler that ran after it (or twice) shows in the recorder's `ends`.
void exchange(Recorder& recorder, const UpstreamUrl& url, HttpClient::Request request = post("{}")) {
  HttpClient client;
  client.start(url, std::move(request), recorder.handlers());
  recorder.wait_end();
}

TEST(HttpClient, WholeBody) {
  TestServer server([](TestServer::Socket& socket, const ServerRequest&) {
    TestServer::write(socket,
                      "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Request-Id: r1\r\n\r\n{\"ok\":true}");
  });
  Recorder recorder;
  exchange(recorder, server.url(), post("{\"model\":\"m\"}"));
  EXPECT_EQ(recorder.ends, 1);
  EXPECT_FALSE(recorder.error) << *recorder.error;
  EXPECT_TRUE(recorder.reached);
  EXPECT_EQ(recorder.status, 200);
  EXPECT_EQ(recorder.header("x-request-id"), "r1");
  EXPECT_EQ(recorder.body(), "{\"ok\":true}");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/chat/completions");
  EXPECT_EQ(requests[0].body, "{\"model\":\"m\"}");
  EXPECT_EQ(requests[0].header("authorization"), "Bearer k");
  EXPECT_EQ(requests[0].header("content-type"), "application/json");
  EXPECT_EQ(requests[0].header("host"), "127.0.0.1:" + std::to_string(server.port()));
}

// The server sends each SSE event only once the client has passed on the one before: a client
// that held bytes back until the end would never see the second, and the test would fail.
TEST(HttpClient, ChunkedStreamArrivesPieceByPiece) {
  const std::vector<std::string> events = {"data: {\"n\":1}\n\n", "data: {\"n\":2}\n\n", "data: [DONE]\n\n"};
  std::vector<std::unique_ptr<Gate>> seen;
  for (std::size_t i = 0; i < events.size(); ++i) seen.push_back(std::make_unique<Gate>());
  std::atomic<bool> streamed{true};
  TestServer server([&](TestServer::Socket& socket, const ServerRequest&) {
    TestServer::write(
        socket, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (std::size_t i = 0; i < events.size(); ++i) {
      TestServer::write(socket, TestServer::chunk(events[i]));
      if (!seen[i]->wait()) streamed = false;
    }
    TestServer::write(socket, "0\r\n\r\n");
  });
  Recorder recorder;
  std::string so_far;
  std::size_t next = 0;
  recorder.on_piece = [&](std::string_view bytes) {
    so_far += bytes;  // handlers of one exchange never run at once
    while (next < events.size() && so_far.find(events[next]) != std::string::npos) seen[next++]->open();
  };
  exchange(recorder, server.url());
  EXPECT_TRUE(streamed);
  EXPECT_EQ(recorder.ends, 1);
  EXPECT_FALSE(recorder.error) << *recorder.error;
  EXPECT_EQ(recorder.header("content-type"), "text/event-stream");
  EXPECT_EQ(recorder.body(), events[0] + events[1] + events[2]);
  EXPECT_GE(recorder.pieces.size(), 3u);
}

TEST(HttpClient, ServerErrorIsAnAnswer) {
  TestServer server([](TestServer::Socket& socket, const ServerRequest&) {
    TestServer::write(socket, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops");
  });
  Recorder recorder;
  exchange(recorder, server.url());
  EXPECT_EQ(recorder.ends, 1);
  EXPECT_FALSE(recorder.error);
  EXPECT_TRUE(recorder.reached);
  EXPECT_EQ(recorder.status, 500);
  EXPECT_EQ(recorder.body(), "oops");
}

TEST(HttpClient, CloseBeforeAnsweringIsNotReached) {
  TestServer server([](TestServer::Socket&, const ServerRequest&) {});  // reads the request, closes
  Recorder recorder;
  exchange(recorder, server.url());
  EXPECT_EQ(recorder.ends, 1);
  ASSERT_TRUE(recorder.error);
  EXPECT_FALSE(recorder.reached) << *recorder.error;
  EXPECT_EQ(recorder.heads, 0);
  EXPECT_NE(recorder.error->find(server.url().text()), std::string::npos) << *recorder.error;
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpClient, ClosedPortIsNotReached) {
  Recorder recorder;
  exchange(recorder, UpstreamUrl{"127.0.0.1", testing::closed_port(), ""});
  EXPECT_EQ(recorder.ends, 1);
  ASSERT_TRUE(recorder.error);
  EXPECT_FALSE(recorder.reached);
  EXPECT_NE(recorder.error->find("cannot connect"), std::string::npos) << *recorder.error;
}

TEST(HttpClient, HalfAResponseIsReached) {
  TestServer server([](TestServer::Socket& socket, const ServerRequest&) {
    TestServer::write(socket, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
  });
  Recorder recorder;
  exchange(recorder, server.url());
  EXPECT_EQ(recorder.ends, 1);
  ASSERT_TRUE(recorder.error);
  EXPECT_TRUE(recorder.reached);
  EXPECT_EQ(recorder.body(), "only ten b");
}

TEST(HttpClient, GarbageIsAnErrorAfterReaching) {
  TestServer server([](TestServer::Socket& socket, const ServerRequest&) {
    TestServer::write(socket, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  });
  Recorder recorder;
  exchange(recorder, server.url());
  EXPECT_EQ(recorder.ends, 1);
  ASSERT_TRUE(recorder.error);
  EXPECT_TRUE(recorder.reached);
  EXPECT_EQ(recorder.heads, 0);
}

TEST(HttpClient, BodyOverTheLimitFails) {
  TestServer server([](TestServer::Socket& socket, const ServerRequest&) {
    TestServer::write(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                  TestServer::chunk(std::string(64, 'x')) +
                                  TestServer::chunk(std::string(64, 'y')) + "0\r\n\r\n");
  });
  Recorder recorder;
  auto request = post("{}");
  request.max_response_bytes = 100;
  exchange(recorder, server.url(), std::move(request));
  EXPECT_EQ(recorder.ends, 1);
  ASSERT_TRUE(recorder.error);
  EXPECT_NE(recorder.error->find("larger than 100 bytes"), std::string::npos) << *recorder.error;
  EXPECT_TRUE(recorder.reached);
  EXPECT_LE(recorder.body().size(), 100u);
}

TEST(HttpClient, CancelMidStream) {
  Gate finish;
  TestServer server([&](TestServer::Socket& socket, const ServerRequest&) {
    TestServer::write(
        socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + TestServer::chunk("data: 1\n\n"));
    finish.wait();  // until the test is done: the stream never ends by itself
  });
  Recorder recorder;
  std::shared_ptr<HttpClient::Exchange> exchange;
  std::mutex exchange_mutex;
  std::atomic<bool> cancelled{false};
  recorder.on_piece = [&](std::string_view) {
    if (cancelled.exchange(true)) return;
    std::lock_guard lock(exchange_mutex);
    exchange->cancel();
    exchange->cancel();  // idempotent
  };
  {
    HttpClient client;
    {
      std::lock_guard lock(exchange_mutex);
      exchange = client.start(server.url(), post("{}"), recorder.handlers());
    }
    recorder.wait_end();
    exchange->cancel();  // after the end: nothing more
  }
  finish.open();
  EXPECT_EQ(recorder.ends, 1);
  ASSERT_TRUE(recorder.error);
  EXPECT_NE(recorder.error->find("cancelled"), std::string::npos) << *recorder.error;
  EXPECT_TRUE(recorder.reached);
  EXPECT_EQ(recorder.body(), "data: 1\n\n");
}

TEST(HttpClient, ShutdownEndsWhatIsInFlight) {
  Gate finish;
  Gate answered;
  TestServer server([&](TestServer::Socket& socket, const ServerRequest&) {
    TestServer::write(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    answered.open();
    finish.wait();
  });
  Recorder recorder;
  {
    HttpClient client;
    client.start(server.url(), post("{}"), recorder.handlers());
    answered.wait();
  }
  finish.open();
  EXPECT_EQ(recorder.ends, 1);
  EXPECT_TRUE(recorder.error);
}

TEST(HttpClient, GetReturnsStatusAndBody) {
  TestServer server([](TestServer::Socket& socket, const ServerRequest& request) {
    if (request.target == "/health") {
      TestServer::write(socket, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    } else {
      TestServer::write(socket, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
  });
  HttpClient client(1);
  auto health = client.get(server.url(), "/health", std::chrono::seconds(30), {{"x-api-key", "k"}});
  ASSERT_TRUE(health.ok()) << health.error().message;
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");
  auto missing = client.get(server.url(), "/metrics", std::chrono::seconds(30));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(server.requests()[0].method, "GET");
  EXPECT_EQ(server.requests()[0].header("x-api-key"), "k");
  auto refused =
      client.get(UpstreamUrl{"127.0.0.1", testing::closed_port(), ""}, "/health", std::chrono::seconds(30));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kIo);
}

TEST(HttpClient, GetGivesUpAtItsDeadline) {
  Gate finish;
  TestServer server([&](TestServer::Socket&, const ServerRequest&) { finish.wait(); });
  HttpClient client;
  auto hung = client.get(server.url(), "/health", std::chrono::milliseconds(200));
  finish.open();
  ASSERT_FALSE(hung.ok());
  EXPECT_NE(hung.error().message.find("200 ms"), std::string::npos) << hung.error().message;
}

}  // namespace
}  // namespace pensieve::upstream
