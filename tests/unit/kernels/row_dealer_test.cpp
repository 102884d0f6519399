#include "kernels/row_dealer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <random>
#include <vector>

#include "core/thread_pool.hpp"

namespace pensieve::kernels {
namespace {

struct Range {
  std::size_t which, begin, end;
};

// Every range thread `thread` is dealt until none is left.
std::vector<Range> drain(RowDealer& dealer, unsigned thread) {
  std::vector<Range> ranges;
  Range r{};
  while (dealer.next(thread, r.which, r.begin, r.end)) ranges.push_back(r);
  return ranges;
}

// Checks that `ranges` cover every row of every matrix exactly once, each within its matrix and
// starting on a slice.
void expect_each_row_once(const std::vector<std::size_t>& rows, const std::vector<Range>& ranges) {
  std::vector<std::vector<int>> seen(rows.size());
  for (std::size_t m = 0; m < rows.size(); ++m) seen[m].assign(rows[m], 0);
  for (const Range& r : ranges) {
    ASSERT_LT(r.which, rows.size());
    ASSERT_LT(r.begin, r.end);
    ASSERT_LE(r.end, rows[r.which]);
    EXPECT_EQ(r.begin % RowDealer::kSliceRows, 0u);
    EXPECT_TRUE(r.end % RowDealer::kSliceRows == 0 || r.end == rows[r.which]);
    for (std::size_t i = r.begin; i < r.end; ++i) ++seen[r.which][i];
  }
  for (std::size_t m = 0; m < rows.size(); ++m) {
    for (std::size_t i = 0; i < rows[m]; ++i) ASSERT_EQ(seen[m][i], 1) << "matrix " << m << " row " << i;
  }
}

TEST(RowDealer, OneThreadTakesEveryRowInOrder) {
  const std::vector<std::size_t> rows = {3072, 100, 1, 64, 8192};
  RowDealer dealer(rows, 1);
  const std::vector<Range> ranges = drain(dealer, 0);
  expect_each_row_once(rows, ranges);
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    const bool same = ranges[i].which == ranges[i - 1].which;
    EXPECT_TRUE(same ? ranges[i].begin == ranges[i - 1].end : ranges[i].begin == 0) << i;
  }
}

// Each thread works through its own contiguous share from the front, in shrinking ranges, so it
// reads one stream of memory.
TEST(RowDealer, EachThreadReadsItsOwnShareFrontToBack) {
  const std::vector<std::size_t> rows = {4096};
  RowDealer dealer(rows, 2);
  std::size_t which = 0, begin = 0, end = 0;
  ASSERT_TRUE(dealer.next(1, which, begin, end));
  EXPECT_EQ(begin, 2048u);
  EXPECT_EQ(end, 2048u + 512u);  // a quarter of the share's 2048 rows
  std::size_t previous_end = end, previous_size = end - begin;
  ASSERT_TRUE(dealer.next(0, which, begin, end));
  EXPECT_EQ(begin, 0u);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(dealer.next(1, which, begin, end));
    EXPECT_EQ(begin, previous_end);
    EXPECT_LE(end - begin, previous_size);
    previous_end = end;
    previous_size = end - begin;
  }
}

// A thread that never asks (descheduled) loses its rows to the others, not the rows themselves.
TEST(RowDealer, ThreadsThatNeverAskLeaveTheirRowsToTheOthers) {
  const std::vector<std::size_t> rows = {2048, 512, 8192};
  RowDealer dealer(rows, 4);
  std::vector<Range> ranges = drain(dealer, 2);
  expect_each_row_once(rows, ranges);
  std::size_t which = 0, begin = 0, end = 0;
  for (unsigned t = 0; t < 4; ++t) EXPECT_FALSE(dealer.next(t, which, begin, end)) << t;
}

// The other threads' halves go to whoever runs out first, until a share has one slice left.
TEST(RowDealer, ARunOutThreadTakesTheBackHalfOfTheLargestShare) {
  const std::vector<std::size_t> rows = {64 * 12};
  RowDealer dealer(rows, 3);  // shares of slices [0, 4), [4, 8), [8, 12)
  std::size_t which = 0, begin = 0, end = 0;
  while (dealer.next(0, which, begin, end) && end <= 4 * 64) {
  }
  // Thread 0 ran out of its own and took over slices [6, 8) of thread 1 (the first of the equal
  // largest it met): its range is the first of them.
  EXPECT_EQ(begin, 6u * 64);
  ASSERT_TRUE(dealer.next(1, which, begin, end));
  EXPECT_EQ(begin, 4u * 64);
  EXPECT_LE(end, 6u * 64);
}

TEST(RowDealer, ThreadsPastTheLastShareGetNothingAndLoseNothing) {
  const std::vector<std::size_t> rows = {64 * 1000 + 5};
  const unsigned threads = RowDealer::kMaxShares + 10;
  auto dealer = std::make_unique<RowDealer>(rows, threads);
  std::size_t which = 0, begin = 0, end = 0;
  EXPECT_FALSE(dealer->next(threads - 1, which, begin, end));
  std::vector<Range> ranges;
  for (unsigned t = 0; t < RowDealer::kMaxShares; ++t) {
    const std::vector<Range> mine = drain(*dealer, t);
    ranges.insert(ranges.end(), mine.begin(), mine.end());
  }
  expect_each_row_once(rows, ranges);
}

TEST(RowDealer, TooLittleWorkForMoreThanOneThread) {
  const std::vector<std::size_t> one = {64}, two = {65}, none = {};
  EXPECT_TRUE(RowDealer(one, 4).one_range());
  EXPECT_FALSE(RowDealer(two, 4).one_range());
  EXPECT_TRUE(RowDealer(none, 4).one_range());
  RowDealer small(one, 4);
  std::vector<Range> ranges = drain(small, 0);
  expect_each_row_once(one, ranges);
}

// Real threads racing for ragged matrices: every row is dealt exactly once, whoever gets it.
TEST(RowDealer, RacingThreadsDealEveryRowExactlyOnce) {
  std::mt19937 rng(42);
  for (unsigned threads : {2u, 3u, 4u, 8u}) {
    core::ThreadPool pool(threads);
    for (int round = 0; round < 200; ++round) {
      std::vector<std::size_t> rows(std::uniform_int_distribution<std::size_t>(1, 6)(rng));
      for (auto& r : rows) r = std::uniform_int_distribution<std::size_t>(1, 3000)(rng);
      RowDealer dealer(rows, threads);
      std::vector<std::vector<Range>> dealt(threads);
      std::atomic<int> sink{0};
      pool.run_on_all([&](unsigned thread, unsigned) {
        std::minstd_rand work(static_cast<unsigned>(round) * 16 + thread);
        Range r{};
        while (dealer.next(thread, r.which, r.begin, r.end)) {
          dealt[thread].push_back(r);
          // Uneven work, so that shares are taken over at every stage.
          const int spins = std::uniform_int_distribution<int>(0, 2000)(work);
          for (int spin = 0; spin < spins; ++spin) sink.fetch_add(1, std::memory_order_relaxed);
        }
      });
      std::vector<Range> all;
      for (const auto& d : dealt) all.insert(all.end(), d.begin(), d.end());
      SCOPED_TRACE(::testing::Message() << threads << " threads, round " << round);
      expect_each_row_once(rows, all);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace pensieve::kernels
