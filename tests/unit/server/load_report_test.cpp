#include "server/load_report.hpp"

#include <gtest/gtest.h>

namespace pensieve::server {
namespace {

TEST(LoadReport, QueueAndSlots) {
  engine::SchedulerStats stats;
  stats.queued = 3;
  stats.active = 4;
  const std::string text = load_metrics(stats);
  EXPECT_NE(text.find("# TYPE pensieve_requests_waiting gauge\npensieve_requests_waiting 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE pensieve_requests_running gauge\npensieve_requests_running 4\n"),
            std::string::npos)
      << text;
  // Without a KV pool there is no usage to tell.
  EXPECT_EQ(text.find("pensieve_kv_cache_usage_ratio"), std::string::npos) << text;
}

TEST(LoadReport, KvUsageCountsCachedOnlyBlocksAsFree) {
  engine::SchedulerStats stats;
  stats.pool.block_tokens = 16;
  stats.pool.total_blocks = 200;
  stats.pool.free_blocks = 50;
  stats.pool.unpinned_only_blocks = 100;  // cached prompts nobody runs: droppable
  EXPECT_NE(load_metrics(stats).find("\npensieve_kv_cache_usage_ratio 0.25\n"), std::string::npos)
      << load_metrics(stats);
  stats.pool.free_blocks = 200;
  stats.pool.unpinned_only_blocks = 0;
  EXPECT_NE(load_metrics(stats).find("\npensieve_kv_cache_usage_ratio 0\n"), std::string::npos);
  stats.pool.free_blocks = 0;
  EXPECT_NE(load_metrics(stats).find("\npensieve_kv_cache_usage_ratio 1\n"), std::string::npos);
}

}  // namespace
}  // namespace pensieve::server
