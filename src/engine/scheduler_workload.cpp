#include "engine/scheduler_workload.hpp"

namespace pensieve::engine {

bool SchedulerWorkload::cache_holds_memory() const {
  return scheduler_.stats().pool.unpinned_only_blocks != 0;
}

std::vector<memory::RunningGeneration> SchedulerWorkload::running() const {
  std::vector<memory::RunningGeneration> out;
  // What cancelling a job frees is not known here; the emergency policy then waits for the next
  // reading to see it.
  for (const RunningJob& job : scheduler_.running()) out.push_back({job.id, job.started_at, 0});
  return out;
}

std::optional<std::uint64_t> SchedulerWorkload::kv_cache_bytes() const {
  const KvPoolStats pool = scheduler_.stats().pool;
  if (pool.block_tokens == 0) return std::nullopt;
  return static_cast<std::uint64_t>(pool.total_blocks - pool.free_blocks) * pool.block_bytes;
}

}  // namespace pensieve::engine
