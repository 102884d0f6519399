#include "upstream/upstream_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <thread>

namespace pensieve::upstream {
namespace {

std::vector<UpstreamUrl> urls(std::size_t n) {
  std::vector<UpstreamUrl> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back({"10.0.0." + std::to_string(i + 1), 8000, "/v1"});
  return out;
}

UpstreamPool::Lease take(UpstreamPool& pool, std::uint64_t key, const std::vector<std::size_t>& tried = {}) {
  auto choice = pool.choose(key, tried);
  EXPECT_TRUE(choice.lease) << choice.message;
  return std::move(*choice.lease);
}

TEST(UpstreamPool, SameKeySameUpstreamWhileLoadIsEven) {
  UpstreamPool pool(urls(4));
  for (std::uint64_t key : {1ull, 42ull, 0xdeadbeefull, 7777777ull}) {
    const std::size_t first = take(pool, key).index();
    for (int i = 0; i < 100; ++i) EXPECT_EQ(take(pool, key).index(), first);
  }
}

TEST(UpstreamPool, KeysSpreadOverUpstreams) {
  UpstreamPool pool(urls(4));
  std::map<std::size_t, int> counts;
  std::mt19937_64 random(1);
  for (int i = 0; i < 4000; ++i) ++counts[take(pool, random()).index()];
  ASSERT_EQ(counts.size(), 4u);
  // Each upstream's share is 1000 ± a few standard deviations (~27).
  for (const auto& [index, count] : counts) {
    EXPECT_GT(count, 850) << index;
    EXPECT_LT(count, 1150) << index;
  }
}

TEST(UpstreamPool, LeaseCountsAndReleases) {
  UpstreamPool pool(urls(2));
  {
    UpstreamPool::Lease a = take(pool, 5);
    EXPECT_EQ(pool.states()[a.index()].outstanding, 1u);
    UpstreamPool::Lease moved = std::move(a);
    EXPECT_EQ(pool.states()[moved.index()].outstanding, 1u);
    EXPECT_EQ(moved.url(), pool.upstreams()[moved.index()]);
    std::optional<UpstreamPool::Lease> other = take(pool, 5);
    EXPECT_EQ(pool.states()[moved.index()].outstanding, 2u);
    other.reset();
    EXPECT_EQ(pool.states()[moved.index()].outstanding, 1u);
  }
  for (const auto& state : pool.states()) EXPECT_EQ(state.outstanding, 0u);
  std::uint64_t requests = 0;
  for (const auto& state : pool.states()) requests += state.requests;
  EXPECT_EQ(requests, 2u);
}

TEST(UpstreamPool, SlackOverflowsToTheLeastLoaded) {
  PoolOptions options;
  options.affinity_slack = 2;
  options.affinity_ratio = 0;
  UpstreamPool pool(urls(3), options);
  const std::uint64_t key = 99;
  std::vector<UpstreamPool::Lease> held;
  const std::size_t affine = take(pool, key).index();
  // The affine upstream is kept while it has at most least + 2 outstanding: 0, 1, 2 held.
  for (int i = 0; i < 3; ++i) {
    held.push_back(take(pool, key));
    EXPECT_EQ(held.back().index(), affine);
  }
  // Now it holds 3 > 0 + 2: the next goes to one of the idle ones, and so does the one after
  // that to the other idle one (least outstanding first).
  UpstreamPool::Lease spill = take(pool, key);
  EXPECT_NE(spill.index(), affine);
  UpstreamPool::Lease spill2 = take(pool, key);
  EXPECT_NE(spill2.index(), affine);
  EXPECT_NE(spill2.index(), spill.index());
  // Once the load evens out it comes back.
  held.clear();
  EXPECT_EQ(take(pool, key).index(), affine);
}

TEST(UpstreamPool, SlackGrowsWithTheLeastLoad) {
  PoolOptions options;
  options.affinity_slack = 1;
  options.affinity_ratio = 1.0;
  UpstreamPool pool(urls(2), options);
  const std::uint64_t key = 5;
  const std::size_t affine = take(pool, key).index();
  const std::size_t other = 1 - affine;
  // Two on the other upstream (a key that hashes there): the affine one is kept up to
  // 2 + 1 + 1.0 * 2 = 5 outstanding.
  std::uint64_t other_key = 0;
  while (take(pool, other_key).index() != other) ++other_key;
  std::vector<UpstreamPool::Lease> held;
  held.push_back(take(pool, other_key));
  held.push_back(take(pool, other_key));
  for (int i = 0; i < 6; ++i) {
    held.push_back(take(pool, key));
    EXPECT_EQ(held.back().index(), affine) << i;
  }
  // 6 > 5: the next goes to the other.
  EXPECT_EQ(take(pool, key).index(), other);
}

// A conversation's turns carry the same prefix key; other traffic comes and goes. Its turns must
// land where its first did at least 95% of the time.
double share_at_home_with_fresh_keys(std::size_t upstreams, std::size_t low, std::size_t high,
                                     std::uint64_t seed) {
  UpstreamPool pool(urls(upstreams));
  std::mt19937_64 random(seed);
  std::deque<UpstreamPool::Lease> background;  // each a request of a conversation seen once
  int same = 0, turns = 0;
  for (int conversation = 0; conversation < 200; ++conversation) {
    const std::uint64_t key = random();
    std::optional<std::size_t> home;
    for (int turn = 0; turn < 20; ++turn) {
      const std::size_t target = low + random() % (high - low + 1);
      while (background.size() > target) background.pop_front();
      while (background.size() < target) background.push_back(take(pool, random()));
      const std::size_t at = take(pool, key).index();
      if (!home) {
        home = at;
        continue;
      }
      ++turns;
      same += at == *home ? 1 : 0;
    }
  }
  return static_cast<double>(same) / turns;
}

// As above, but the other traffic is `sessions` conversations of their own, each sending its turns
// one after another (in flight most of the time, as an agent is), each with its own affinity.
double share_at_home_with_sessions(std::size_t upstreams, std::size_t sessions, std::uint64_t seed) {
  UpstreamPool pool(urls(upstreams));
  std::mt19937_64 random(seed);
  std::vector<std::uint64_t> keys(sessions);
  std::vector<std::optional<std::size_t>> home(sessions);
  std::vector<std::optional<UpstreamPool::Lease>> in_flight(sessions);
  for (auto& key : keys) key = random();
  int same = 0, turns = 0;
  for (int step = 0; step < 40000; ++step) {
    const std::size_t s = random() % sessions;
    if (in_flight[s]) {
      in_flight[s].reset();  // its turn ends; it thinks (or runs a tool) before the next
    } else if (random() % 10 != 0) {
      in_flight[s] = take(pool, keys[s]);
      const std::size_t at = in_flight[s]->index();
      if (home[s]) {
        ++turns;
        same += at == *home[s] ? 1 : 0;
      } else {
        home[s] = at;
      }
    }
    if (random() % 500 == 0) {  // now and then a session ends and a new one begins
      const std::size_t ended = random() % sessions;
      if (!in_flight[ended]) {
        keys[ended] = random();
        home[ended].reset();
      }
    }
  }
  return static_cast<double>(same) / turns;
}

TEST(UpstreamPool, ConversationStaysOnItsUpstreamUnderConcurrentLoad) {
  for (std::uint64_t seed : {1, 2, 3}) {
    for (auto [low, high] : {std::pair<std::size_t, std::size_t>{2, 4}, {6, 10}}) {
      const double share = share_at_home_with_fresh_keys(4, low, high, seed);
      EXPECT_GE(share, 0.95) << "fresh keys, " << low << "-" << high << " in flight, seed " << seed;
    }
    for (std::size_t sessions : {4, 8, 12}) {
      const double share = share_at_home_with_sessions(4, sessions, seed);
      EXPECT_GE(share, 0.95) << sessions << " sessions, seed " << seed;
    }
    EXPECT_GE(share_at_home_with_sessions(2, 8, seed), 0.95) << "2 upstreams, seed " << seed;
  }
}

TEST(UpstreamPool, OutstandingLimitRefusesAsBusy) {
  PoolOptions options;
  options.max_outstanding = 2;
  UpstreamPool pool(urls(2), options);
  std::vector<UpstreamPool::Lease> held;
  for (int i = 0; i < 4; ++i) held.push_back(take(pool, i));
  auto refused = pool.choose(7);
  ASSERT_FALSE(refused.lease);
  EXPECT_EQ(refused.refusal, UpstreamPool::Refusal::kAllBusy);
  EXPECT_NE(refused.message.find("2 requests in flight from here (limit 2)"), std::string::npos)
      << refused.message;
  EXPECT_NE(refused.message.find("http://10.0.0.1:8000/v1"), std::string::npos) << refused.message;
  held.pop_back();
  EXPECT_TRUE(pool.choose(7).lease);
}

TEST(UpstreamPool, MetricsQueueLimit) {
  PoolOptions options;
  options.max_waiting = 4;
  UpstreamPool pool(urls(1), options);
  pool.health_checked(0, true, UpstreamLoad{4.0, 10.0, 0.5});
  auto refused = pool.choose(1);
  ASSERT_FALSE(refused.lease);
  EXPECT_EQ(refused.refusal, UpstreamPool::Refusal::kAllBusy);
  EXPECT_NE(refused.message.find("4 requests queued (limit 4)"), std::string::npos) << refused.message;
  pool.health_checked(0, true, UpstreamLoad{3.0, 10.0, 0.5});
  EXPECT_TRUE(pool.choose(1).lease);
}

TEST(UpstreamPool, KvCacheFullWithAQueueIsBusy) {
  UpstreamPool pool(urls(1));
  // Full cache but nothing waiting: the upstream still takes work (it schedules as it frees).
  pool.health_checked(0, true, UpstreamLoad{0.0, 30.0, 0.99});
  EXPECT_TRUE(pool.choose(1).lease);
  pool.health_checked(0, true, UpstreamLoad{1.0, 30.0, 0.99});
  auto refused = pool.choose(1);
  ASSERT_FALSE(refused.lease);
  EXPECT_NE(refused.message.find("KV cache 99% full"), std::string::npos) << refused.message;
}

TEST(UpstreamPool, RequestsSentSinceAQueuedSnapshotCountAsQueued) {
  PoolOptions options;
  options.max_waiting = 4;
  UpstreamPool pool(urls(1), options);
  pool.health_checked(0, true, UpstreamLoad{2.0, 8.0, std::nullopt});
  // 2 queued at the scrape: two more sent since make 4.
  auto a = take(pool, 1);
  auto b = take(pool, 1);
  EXPECT_FALSE(pool.choose(1).lease);
  // One of ours finishing lets one queued request in.
  { auto done = std::move(a); }
  EXPECT_TRUE(pool.choose(1).lease);
  // With no queue in the snapshot, requests sent since are not counted as queued.
  pool.health_checked(0, true, UpstreamLoad{0.0, 8.0, std::nullopt});
  std::vector<UpstreamPool::Lease> held;
  for (int i = 0; i < 10; ++i) held.push_back(take(pool, 1));
}

TEST(UpstreamPool, StaleMetricsAreIgnored) {
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  PoolOptions options;
  options.max_load_age = std::chrono::seconds(10);
  options.clock = [&now] { return now; };
  UpstreamPool pool(urls(1), options);
  pool.health_checked(0, true, UpstreamLoad{50.0, 8.0, 1.0});
  EXPECT_FALSE(pool.choose(1).lease);
  now += std::chrono::seconds(11);
  EXPECT_TRUE(pool.choose(1).lease);
}

TEST(UpstreamPool, DownIsSkippedAndAllDownIsSaid) {
  UpstreamPool pool(urls(2));
  const std::size_t affine = take(pool, 3).index();
  pool.connection_failed(affine);
  EXPECT_EQ(take(pool, 3).index(), 1 - affine);
  EXPECT_FALSE(pool.states()[affine].up);
  EXPECT_EQ(pool.states()[affine].failures, 1u);
  pool.health_checked(1 - affine, false, std::nullopt);
  auto refused = pool.choose(3);
  ASSERT_FALSE(refused.lease);
  EXPECT_EQ(refused.refusal, UpstreamPool::Refusal::kAllDown);
  EXPECT_FALSE(refused.message.empty());
  // A passing health check brings it back, and the key home.
  pool.health_checked(affine, true, std::nullopt);
  EXPECT_EQ(take(pool, 3).index(), affine);
}

TEST(UpstreamPool, TriedUpstreamsAreExcluded) {
  UpstreamPool pool(urls(3));
  const std::size_t first = take(pool, 11).index();
  const std::size_t second = take(pool, 11, {first}).index();
  EXPECT_NE(second, first);
  const std::size_t third = take(pool, 11, {first, second}).index();
  EXPECT_NE(third, first);
  EXPECT_NE(third, second);
  auto none = pool.choose(11, {0, 1, 2});
  ASSERT_FALSE(none.lease);
  EXPECT_EQ(none.refusal, UpstreamPool::Refusal::kAllDown);
  // Busy beats down: the untried one is up but full.
  PoolOptions options;
  options.max_outstanding = 1;
  UpstreamPool small(urls(2), options);
  auto held = take(small, 1);
  auto busy = small.choose(1, {1 - held.index()});
  ASSERT_FALSE(busy.lease);
  EXPECT_EQ(busy.refusal, UpstreamPool::Refusal::kAllBusy);
}

TEST(UpstreamPool, NoUpstreamsIsAllDown) {
  UpstreamPool pool({});
  auto none = pool.choose(1);
  EXPECT_FALSE(none.lease);
  EXPECT_EQ(none.refusal, UpstreamPool::Refusal::kAllDown);
}

TEST(UpstreamPool, PrometheusText) {
  UpstreamPool pool(urls(2));
  auto lease = take(pool, 1);
  pool.connection_failed(1 - lease.index());
  const std::string text = pool.prometheus_text();
  const std::string mine = "{upstream=\"" + lease.url().text() + "\"}";
  const std::string other = "{upstream=\"" + pool.upstreams()[1 - lease.index()].text() + "\"}";
  EXPECT_NE(text.find("pensieve_upstream_up" + mine + " 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pensieve_upstream_up" + other + " 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pensieve_upstream_outstanding" + mine + " 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pensieve_upstream_requests_total" + mine + " 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pensieve_upstream_failures_total" + other + " 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE pensieve_upstream_requests_total counter\n"), std::string::npos) << text;
  const PrometheusText parsed = parse_prometheus(text);
  EXPECT_EQ(parsed.skipped_lines, 0u);
  EXPECT_EQ(parsed.samples.size(), 8u);
  EXPECT_EQ(parsed.types.size(), 4u);
}

TEST(UpstreamPool, ConcurrentChoosersKeepCountsExact) {
  UpstreamPool pool(urls(3));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 2000; ++i) {
        auto choice = pool.choose(static_cast<std::uint64_t>(t * 100000 + i));
        EXPECT_TRUE(choice.lease);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::uint64_t requests = 0;
  for (const auto& state : pool.states()) {
    EXPECT_EQ(state.outstanding, 0u);
    requests += state.requests;
  }
  EXPECT_EQ(requests, 8000u);
}

}  // namespace
}  // namespace pensieve::upstream
