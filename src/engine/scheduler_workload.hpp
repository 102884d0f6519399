// engine/scheduler_workload: the scheduler as the memory policy sees it (memory::Workload) — its
// prefix cache to shrink or drop, its running jobs to cancel, its count of ended jobs and what its
// KV pool holds — so that memory/ decides without knowing the engine.
#pragma once

#include "engine/scheduler.hpp"
#include "memory/workload.hpp"

namespace pensieve::engine {

class SchedulerWorkload final : public memory::Workload {
 public:
  explicit SchedulerWorkload(Scheduler& scheduler) : scheduler_(scheduler) {}

  void shrink_cache() override { scheduler_.relieve_memory(CacheRelief::kShrink); }
  void drop_cache() override { scheduler_.relieve_memory(CacheRelief::kDrop); }
  bool cache_holds_memory() const override;
  std::vector<memory::RunningGeneration> running() const override;
  void cancel(std::uint64_t id, const std::string& why) override { scheduler_.cancel(id, why); }
  std::uint64_t ended() const override { return scheduler_.stats().finished; }
  std::optional<std::uint64_t> kv_cache_bytes() const override;

 private:
  Scheduler& scheduler_;
};

}  // namespace pensieve::engine
