// Clients that are careless or hostile, against the real server over loopback (issue 15): idle
// connections by the thousand, bodies far larger than any prompt, pipelined requests, a client
// that half-closes, one that closes while its answer is computed, and Expect: 100-continue.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <future>

#include "server_process.hpp"
#include "support/loopback_clients.hpp"

namespace pensieve::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kContext = 2048;

bool send_all(int fd, const std::string& bytes) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return false;
    at += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads more bytes into `buffer`, waiting at most `wait`; false at end of stream or timeout.
bool read_more(int fd, std::string& buffer, std::chrono::milliseconds wait = 30s) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
  char chunk[16384];
  const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buffer.append(chunk, static_cast<std::size_t>(n));
  return true;
}

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;  // de-chunked
};

std::string header_value(const std::string& head, const std::string& name) {
  std::string lower = head;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower.find("\r\n" + name + ":");
  if (at == std::string::npos) return {};
  auto start = at + 3 + name.size();
  while (start < head.size() && head[start] == ' ') ++start;
  return head.substr(start, head.find("\r\n", start) - start);
}

// Reads one response (skipping interim 1xx ones) from `buffer` + the socket; what follows it
// stays in `buffer`.
std::optional<RawResponse> read_response(int fd, std::string& buffer) {
  for (;;) {
    std::size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more(fd, buffer)) return std::nullopt;
    }
    RawResponse r;
    r.head = buffer.substr(0, end + 2);
    buffer.erase(0, end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    if (r.status >= 100 && r.status < 200) continue;
    if (header_value(r.head, "transfer-encoding") == "chunked") {
      for (;;) {
        std::size_t line;
        while ((line = buffer.find("\r\n")) == std::string::npos) {
          if (!read_more(fd, buffer)) return std::nullopt;
        }
        const std::size_t size = std::stoul(buffer.substr(0, line), nullptr, 16);
        while (buffer.size() < line + 2 + size + 2) {
          if (!read_more(fd, buffer)) return std::nullopt;
        }
        r.body.append(buffer, line + 2, size);
        buffer.erase(0, line + 2 + size + 2);
        if (size == 0) return r;
      }
    }
    const std::size_t length = std::stoul(header_value(r.head, "content-length"));
    while (buffer.size() < length) {
      if (!read_more(fd, buffer)) return std::nullopt;
    }
    r.body = buffer.substr(0, length);
    buffer.erase(0, length);
    return r;
  }
}

std::string post_request(const std::string& path, const std::string& body, const std::string& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

class HostileClients : public ::testing::Test {
 protected:
  void SetUp() override {
    // The test holds a thousand sockets of its own.
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    // The server cuts uploads off: a write to such a connection must fail, not end the test.
    std::signal(SIGPIPE, SIG_IGN);
    server =
        std::make_unique<ServerProcess>(std::vector<std::string>{"--model", fixture_model(), "--ctx-size",
                                                                 std::to_string(kContext), "--parallel", "2"},
                                        dir.path() / "server.log");
    ASSERT_EQ(server->wait_until_serving(), ServerProcess::State::kServing) << server->log();
  }

  TempDir dir;
  std::unique_ptr<ServerProcess> server;
};

// Idle connections cost no service: with a thousand open and silent, a request is answered at
// once (each used to hold one of 64 threads, and every request waited out the keep-alive).
TEST_F(HostileClients, AThousandIdleConnectionsDoNotDelayARequest) {
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) {
    const int fd = pensieve::testing::connect_loopback(server->port());
    ASSERT_GE(fd, 0) << "connection " << i;
    idle.push_back(fd);
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto client = server->client(5s);
  auto health = client.Get("/health");
  ASSERT_TRUE(health) << "no answer within 5 s with 1000 idle connections";
  EXPECT_EQ(health->status, 200);
  auto answer = post_message(client, 4);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  std::cout << "answered in "
            << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()
            << " ms with 1000 idle connections\n";
  for (int fd : idle) close(fd);
}

// Bodies no prompt of this context could need are refused before they are kept: the process
// does not grow by more than 64 MiB, for one or three at once, with a length or in chunks.
TEST_F(HostileClients, HugeBodiesAreRefusedBeforeTheProcessGrows) {
  const pid_t pid = server->server_pid();
  const std::string huge = message_body(16, false, std::string(29'000'000, 'a'));
  ASSERT_TRUE(reset_peak_rss(pid));
  const auto before = process_memory(pid);
  ASSERT_TRUE(before);

  auto send_huge = [&] {
    auto client = server->client(30s);
    auto r = client.Post("/v1/messages", huge, "application/json");
    return r ? r->status : -1;
  };
  EXPECT_EQ(send_huge(), 413);
  std::vector<std::future<int>> three;
  for (int i = 0; i < 3; ++i) three.push_back(std::async(std::launch::async, send_huge));
  for (auto& f : three) EXPECT_EQ(f.get(), 413);

  // 200 MB in chunks: cut off past the limit (the client may see the cut before the answer).
  const int fd = pensieve::testing::connect_loopback(server->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string piece(1 << 20, 'a');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
  std::size_t sent = 0;
  while (sent < 200'000'000 && send_all(fd, size_line + piece + "\r\n")) sent += piece.size();
  close(fd);
  EXPECT_LT(sent, 200'000'000u) << "the server read the whole chunked upload";

  const auto after = process_memory(pid);
  ASSERT_TRUE(after);
  std::cout << "RSS " << before->rss_bytes / kMiB << " MiB before, peak " << after->peak_bytes / kMiB
            << " MiB after four 29 MB bodies and a cut 200 MB upload\n";
  EXPECT_LT(after->peak_bytes, before->rss_bytes + 64 * kMiB)
      << "grew from " << before->rss_bytes / kMiB << " MiB to a peak of " << after->peak_bytes / kMiB
      << " MiB";
  auto client = server->client();
  auto ok = post_message(client, 4);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// Two POSTs and a GET in one write are all answered, in order, on the one connection.
TEST_F(HostileClients, PipelinedRequestsAreAllAnsweredInOrder) {
  const int fd = pensieve::testing::connect_loopback(server->port());
  ASSERT_GE(fd, 0);
  const std::string batch = post_request("/v1/messages", message_body(3, false, "one")) +
                            post_request("/v1/messages/count_tokens", message_body(3, false, "two")) +
                            "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(send_all(fd, batch));
  std::string buffer;
  auto first = read_response(fd, buffer);
  auto second = read_response(fd, buffer);
  auto third = read_response(fd, buffer);
  close(fd);
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(json::parse(first->body)["type"], "message");
  EXPECT_EQ(second->status, 200);
  EXPECT_TRUE(json::parse(second->body).contains("input_tokens"));
  EXPECT_EQ(third->status, 200);
  EXPECT_TRUE(json::parse(third->body).contains("data"));
}

// A client that shuts down its sending side after its request still gets the whole answer,
// whole JSON or streamed.
TEST_F(HostileClients, AHalfClosedClientGetsItsFullAnswer) {
  for (const bool stream : {false, true}) {
    const int fd = pensieve::testing::connect_loopback(server->port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, post_request("/v1/messages", message_body(24, stream))));
    ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
    std::string buffer;
    auto r = read_response(fd, buffer);
    close(fd);
    ASSERT_TRUE(r) << "stream " << stream << "\n" << server->log();
    EXPECT_EQ(r->status, 200);
    if (stream) {
      EXPECT_NE(r->body.find("event: message_stop"), std::string::npos) << r->body;
    } else {
      EXPECT_EQ(json::parse(r->body)["usage"]["output_tokens"], 24) << r->body;
    }
  }
  EXPECT_EQ(server->log().find("(client disconnected)"), std::string::npos) << server->log();
}

// One that closes while its (non-streamed) answer is computed is still noticed, and its
// generation cancelled rather than run to its end.
TEST_F(HostileClients, AClientThatClosesIsStillNoticed) {
  const int fd = pensieve::testing::connect_loopback(server->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, post_request("/v1/messages", message_body(2000, false))));
  close(fd);
  EXPECT_TRUE(
      poll_until([&] { return server->log().find("(client disconnected)") != std::string::npos; }, 30s))
      << server->log();
  EXPECT_NE(server->log().find("cancelled"), std::string::npos) << server->log();
}

// Expect: 100-continue gets its interim answer before the body is sent.
TEST_F(HostileClients, ExpectContinueIsAnswered) {
  const int fd = pensieve::testing::connect_loopback(server->port());
  ASSERT_GE(fd, 0);
  const std::string body = message_body(3, false, "hello");
  ASSERT_TRUE(send_all(fd,
                       "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Expect: 100-continue\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n"));
  std::string buffer;
  while (buffer.find("\r\n\r\n") == std::string::npos) ASSERT_TRUE(read_more(fd, buffer));
  EXPECT_EQ(buffer.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << buffer;
  buffer.clear();
  ASSERT_TRUE(send_all(fd, body));
  auto r = read_response(fd, buffer);
  close(fd);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace pensieve::e2e
