#include "server/connection_table.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace pensieve::server {
namespace {

struct Closed {
  std::vector<int> ids;
  std::function<void()> closer(int n) {
    return [this, n] { ids.push_back(n); };
  }
};

TEST(ConnectionTable, AtAClientsCapItsLongestIdleMakesRoom) {
  ConnectionTable table(100, 2);
  Closed closed;
  const auto a = table.add("10.0.0.1", closed.closer(1));
  const auto b = table.add("10.0.0.1", closed.closer(2));
  ASSERT_TRUE(a && b);
  table.set_idle(*b, true);
  table.set_idle(*a, true);  // idle since later than b
  const auto c = table.add("10.0.0.1", closed.closer(3));
  ASSERT_TRUE(c);
  EXPECT_EQ(closed.ids, std::vector<int>{2});
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.evicted(), 1u);
  // Another client is not limited by this one's cap.
  EXPECT_TRUE(table.add("10.0.0.2", closed.closer(4)));
  EXPECT_EQ(closed.ids, std::vector<int>{2});
}

TEST(ConnectionTable, WithNothingIdleTheNewcomerIsRefused) {
  ConnectionTable table(100, 2);
  Closed closed;
  ASSERT_TRUE(table.add("c", closed.closer(1)));
  const auto busy = table.add("c", closed.closer(2));
  ASSERT_TRUE(busy);
  table.set_idle(*busy, true);
  table.set_idle(*busy, false);  // its next request began
  EXPECT_FALSE(table.add("c", closed.closer(3)));
  EXPECT_TRUE(closed.ids.empty());
  table.remove(*busy);
  EXPECT_TRUE(table.add("c", closed.closer(4)));
}

TEST(ConnectionTable, AtTheTotalCapAnyClientsIdleMakesRoom) {
  ConnectionTable table(2, 10);
  Closed closed;
  const auto a = table.add("a", closed.closer(1));
  const auto b = table.add("b", closed.closer(2));
  table.set_idle(*a, true);
  ASSERT_TRUE(table.add("c", closed.closer(3)));
  EXPECT_EQ(closed.ids, std::vector<int>{1});
  table.remove(*a);  // the evicted one ends later: nothing more to do
  EXPECT_EQ(table.size(), 2u);
  table.close_all();
  EXPECT_EQ(closed.ids.size(), 3u);
  (void)b;
}

}  // namespace
}  // namespace pensieve::server
