#include "memory/memory_policy.hpp"

#include "memory/release.hpp"

namespace pensieve::memory {

std::shared_ptr<MemoryPolicy> MemoryPolicy::start(MemoryGuard& guard, std::unique_ptr<Workload> workload,
                                                  RequestCosts costs,
                                                  std::function<void(const std::string&)> log) {
  std::shared_ptr<MemoryPolicy> policy(
      new MemoryPolicy(guard, std::move(workload), std::move(costs), std::move(log)));
  policy->tier_log_.on_reading(*guard.snapshot());  // before any listener runs
  // Readings are serialized by the sampler, so the listener never runs twice at once.
  guard.set_listener([policy](const MemorySnapshot& snapshot) { policy->on_reading(snapshot); });
  return policy;
}

MemoryPolicy::MemoryPolicy(MemoryGuard& guard, std::unique_ptr<Workload> workload, RequestCosts costs,
                           std::function<void(const std::string&)> log)
    : guard_(guard),
      workload_(std::move(workload)),
      admission_(guard, std::move(costs)),
      tier_log_(log),
      shedding_(guard, *workload_, guard.snapshot()->tier, std::move(log)) {}

void MemoryPolicy::on_reading(const MemorySnapshot& snapshot) {
  tier_log_.on_reading(snapshot);
  shedding_.on_reading(snapshot);
  release_after_work();
}

void MemoryPolicy::release_after_work() {
  const std::uint64_t ended = workload_->ended();
  const std::uint64_t responses = responses_.load(std::memory_order_relaxed);
  if (ended == released_ended_ && responses == released_responses_) return;
  released_ended_ = ended;
  released_responses_ = responses;
  release_free_heap();
  guard_.metrics().heap_releases.fetch_add(1, std::memory_order_relaxed);
}

void MemoryPolicy::report_kv_cache() {
  if (const auto bytes = workload_->kv_cache_bytes()) guard_.set_kv_cache_bytes(*bytes);
}

nlohmann::json MemoryPolicy::health_json() {
  report_kv_cache();
  return guard_.health_json();
}

std::string MemoryPolicy::prometheus_text() {
  report_kv_cache();
  return guard_.prometheus_text();
}

}  // namespace pensieve::memory
