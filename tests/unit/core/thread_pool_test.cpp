#include "core/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

namespace pensieve::core {
namespace {

TEST(ThreadPoolTest, EveryTaskRunsExactlyOnce) {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    ThreadPool pool(threads);
    for (std::size_t n : {0u, 1u, 2u, 7u, 1000u}) {
      std::vector<std::atomic<int>> hits(n);
      pool.parallel_for(n, [&](std::size_t i) { hits[i].fetch_add(1); });
      for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << threads << " threads, task " << i;
    }
  }
}

TEST(ThreadPoolTest, RunOnAllGivesEachThreadItsIndex) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> seen(4);
  std::atomic<unsigned> reported_size{0};
  pool.run_on_all([&](unsigned thread, unsigned n) {
    seen[thread].fetch_add(1);
    reported_size.store(n);
  });
  for (auto& s : seen) EXPECT_EQ(s.load(), 1);
  EXPECT_EQ(reported_size.load(), 4u);
}

TEST(ThreadPoolTest, ManyShortRegionsInARowAllComplete) {
  ThreadPool pool(3);
  std::atomic<std::size_t> total{0};
  for (int region = 0; region < 20000; ++region) {
    pool.parallel_for(3, [&](std::size_t i) { total.fetch_add(i + 1); });
  }
  EXPECT_EQ(total.load(), 20000u * 6u);
}

TEST(ThreadPoolTest, WorkersWakeAfterSleeping) {
  ThreadPool pool(2);
  std::atomic<int> count{0};
  pool.parallel_for(2, [&](std::size_t) { count.fetch_add(1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // past the spin: workers now wait
  std::set<std::thread::id> ids;
  std::mutex m;
  // The caller's share takes long enough for a sleeping worker to wake and join (one that has
  // not joined when the caller is done would be shut out, its share run by the caller).
  pool.run_on_all([&](unsigned thread, unsigned) {
    if (thread == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard lock(m);
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(count.load(), 2);
}

// Every thread's share runs exactly once per region, whether its worker joined in time or was
// shut out (on a loaded machine, or here when the caller's share is quicker than a wake-up).
TEST(ThreadPoolTest, EveryShareRunsOnceWhetherItsWorkerJoinsOrNot) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> runs(4);
  std::atomic<int> by_caller{0};
  const auto caller = std::this_thread::get_id();
  constexpr int kRegions = 5000;
  for (int r = 0; r < kRegions; ++r) {
    if (r % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));  // let workers sleep
    pool.run_on_all([&](unsigned thread, unsigned n) {
      EXPECT_EQ(n, 4u);
      runs[thread].fetch_add(1);
      if (thread != 0 && std::this_thread::get_id() == caller) by_caller.fetch_add(1);
    });
  }
  for (unsigned t = 0; t < 4; ++t) EXPECT_EQ(runs[t].load(), kRegions) << "thread " << t;
  // A worker woken from sleep is later than the caller's empty share: some were shut out.
  EXPECT_GT(by_caller.load(), 0);
}

TEST(ThreadPoolTest, RegionsFromTwoThreadsAreSerialisedNotLost) {
  ThreadPool pool(2);
  std::atomic<std::size_t> total{0};
  auto submit = [&] {
    for (int i = 0; i < 2000; ++i) pool.parallel_for(4, [&](std::size_t) { total.fetch_add(1); });
  };
  std::thread a(submit), b(submit);
  a.join();
  b.join();
  EXPECT_EQ(total.load(), 2u * 2000u * 4u);
}

TEST(ThreadPoolTest, DefaultThreadCountIsPositiveAndAtMostTheLogicalCpus) {
  const unsigned n = default_thread_count();
  EXPECT_GE(n, 1u);
  EXPECT_LE(n, std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace pensieve::core
