#include "upstream/health_monitor.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "test_server.hpp"

namespace pensieve::upstream {
namespace {

using testing::ServerRequest;
using testing::TestServer;

// An upstream whose /health status and /metrics answer the test sets.
class FakeUpstream {
 public:
  FakeUpstream()
      : server_(
            [this](TestServer::Socket& socket, const ServerRequest& request) { answer(socket, request); }) {}

  void set_health(int status) { health_ = status; }
  void set_metrics(int status, std::string body) {
    std::lock_guard lock(mutex_);
    metrics_status_ = status;
    metrics_ = std::move(body);
  }
  UpstreamUrl url() const { return server_.url(); }
  std::vector<ServerRequest> requests() const { return server_.requests(); }

 private:
  void answer(TestServer::Socket& socket, const ServerRequest& request) {
    int status = 404;
    std::string body;
    if (request.target == "/health") {
      status = health_;
    } else if (request.target == "/metrics") {
      std::lock_guard lock(mutex_);
      status = metrics_status_;
      body = metrics_;
    }
    TestServer::write(socket, "HTTP/1.1 " + std::to_string(status) +
                                  " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }

  std::atomic<int> health_{200};
  std::mutex mutex_;
  int metrics_status_ = 404;
  std::string metrics_;
  TestServer server_;
};

HealthMonitorOptions quiet(std::vector<std::string>* log = nullptr) {
  HealthMonitorOptions options;
  options.interval = std::chrono::hours(1);  // rounds only when the test asks
  options.timeout = std::chrono::seconds(30);
  if (log) options.log = [log](const std::string& line) { log->push_back(line); };
  return options;
}

TEST(HealthMonitor, ReadsHealthAndMetrics) {
  FakeUpstream vllm;
  vllm.set_metrics(
      200,
      "vllm:num_requests_waiting{model_name=\"m\"} 2\nvllm:num_requests_running{model_name=\"m\"} 6\n"
      "vllm:kv_cache_usage_perc{model_name=\"m\"} 0.5\n");
  FakeUpstream plain;  // no metrics: 404
  UpstreamPool pool({vllm.url(), plain.url()});
  HttpClient client;
  HealthMonitor monitor(pool, client, quiet());
  monitor.check_now();
  const auto states = pool.states();
  EXPECT_TRUE(states[0].up);
  ASSERT_TRUE(states[0].load);
  EXPECT_EQ(*states[0].load, (UpstreamLoad{2.0, 6.0, 0.5}));
  EXPECT_TRUE(states[1].up);
  EXPECT_FALSE(states[1].load);
}

TEST(HealthMonitor, UpAndDownTransitions) {
  FakeUpstream upstream;
  UpstreamPool pool({upstream.url()});
  HttpClient client;
  std::vector<std::string> log;
  HealthMonitor monitor(pool, client, quiet(&log));
  monitor.check_now();
  EXPECT_TRUE(pool.states()[0].up);

  upstream.set_health(503);
  monitor.check_now();
  EXPECT_FALSE(pool.states()[0].up);
  auto refused = pool.choose(1);
  EXPECT_FALSE(refused.lease);
  EXPECT_EQ(refused.refusal, UpstreamPool::Refusal::kAllDown);

  upstream.set_health(200);
  monitor.check_now();
  EXPECT_TRUE(pool.states()[0].up);
  EXPECT_TRUE(pool.choose(1).lease);

  // A connection failure marks it down until the next passing check.
  pool.connection_failed(0);
  EXPECT_FALSE(pool.states()[0].up);
  monitor.check_now();
  EXPECT_TRUE(pool.states()[0].up);

  ASSERT_EQ(log.size(), 2u);
  EXPECT_NE(log[0].find("is down: /health answered 503"), std::string::npos) << log[0];
  EXPECT_NE(log[1].find("is up"), std::string::npos) << log[1];
}

TEST(HealthMonitor, UnreachableIsDown) {
  FakeUpstream alive;
  UpstreamPool pool({UpstreamUrl{"127.0.0.1", testing::closed_port(), ""}, alive.url()});
  HttpClient client;
  HealthMonitor monitor(pool, client, quiet());
  monitor.check_now();
  EXPECT_FALSE(pool.states()[0].up);
  EXPECT_TRUE(pool.states()[1].up);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(pool.choose(static_cast<std::uint64_t>(i)).lease->index(), 1u);
}

TEST(HealthMonitor, MetricsSayBusy) {
  FakeUpstream upstream;
  upstream.set_metrics(200, "sglang:num_queue_reqs 9\nsglang:num_running_reqs 32\nsglang:token_usage 0.9\n");
  UpstreamPool pool({upstream.url()});
  HttpClient client;
  HealthMonitor monitor(pool, client, quiet());
  monitor.check_now();
  auto refused = pool.choose(1);
  ASSERT_FALSE(refused.lease);
  EXPECT_EQ(refused.refusal, UpstreamPool::Refusal::kAllBusy);
  upstream.set_metrics(200, "sglang:num_queue_reqs 0\nsglang:num_running_reqs 32\nsglang:token_usage 0.9\n");
  monitor.check_now();
  EXPECT_TRUE(pool.choose(1).lease);
}

TEST(HealthMonitor, SendsTheKey) {
  FakeUpstream upstream;
  UpstreamPool pool({upstream.url()});
  HttpClient client;
  auto options = quiet();
  options.api_key = "sk-test";
  {
    HealthMonitor monitor(pool, client, options);
    monitor.check_now();
  }
  const auto requests = upstream.requests();
  ASSERT_GE(requests.size(), 2u);
  for (const auto& request : requests) {
    EXPECT_EQ(request.header("authorization"), "Bearer sk-test") << request.target;
    EXPECT_EQ(request.header("x-api-key"), "sk-test") << request.target;
  }
}

TEST(HealthMonitor, ChecksAtOnceAndStopsWithoutWaitingOutTheInterval) {
  FakeUpstream upstream;
  UpstreamPool pool({upstream.url()});
  HttpClient client;
  {
    HealthMonitor monitor(pool, client, quiet());
    // The first round needs no asking; an hour-long interval must not hold up the destructor.
    while (monitor.rounds() == 0) std::this_thread::yield();
  }
  EXPECT_GE(upstream.requests().size(), 2u);
}

}  // namespace
}  // namespace pensieve::upstream
