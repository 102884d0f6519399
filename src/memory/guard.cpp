#include "memory/guard.hpp"

#include "memory/health.hpp"

namespace pensieve::memory {

Result<std::unique_ptr<MemoryGuard>> MemoryGuard::create(MemoryGuardConfig config) {
  PENSIEVE_TRY(validate(config.thresholds));
  if (config.interval.count() <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "memory sampling interval must be positive");
  }
  std::unique_ptr<MemoryGuard> guard(new MemoryGuard(std::move(config)));
  if (guard->config_.start_sampler) guard->sampler_.start();
  return guard;
}

MemoryGuard::MemoryGuard(MemoryGuardConfig config)
    : config_(std::move(config)),
      sampler_(MemoryReader(config_.reader), config_.thresholds, config_.interval, &metrics_),
      baseline_(config_.admission.process_baseline_bytes) {}

MemoryGuard::~MemoryGuard() {
  sampler_.stop();
}

AdmissionDecision MemoryGuard::would_admit(std::uint64_t needed_bytes) const {
  AdmissionPolicy policy = config_.admission;
  policy.process_baseline_bytes = baseline_.load(std::memory_order_relaxed);
  return decide_admission(*sampler_.latest(), needed_bytes, policy);
}

AdmissionDecision MemoryGuard::admit(std::uint64_t needed_bytes) {
  AdmissionDecision decision = would_admit(needed_bytes);
  if (decision.admitted()) {
    metrics_.admitted.fetch_add(1, std::memory_order_relaxed);
  } else {
    metrics_.count_refusal(decision.reason);
  }
  return decision;
}

void MemoryGuard::mark_baseline() {
  const auto snapshot = sampler_.refresh_now();
  if (snapshot->reading.process)
    baseline_.store(snapshot->reading.process->rss_bytes, std::memory_order_relaxed);
}

std::vector<std::uint64_t> MemoryGuard::emergency_cancellations(std::span<const RunningGeneration> running) {
  auto ids = emergency_.decide(*sampler_.latest(), running);
  if (!ids.empty()) metrics_.emergency_cancellations.fetch_add(ids.size(), std::memory_order_relaxed);
  return ids;
}

bool MemoryGuard::accepting(const MemorySnapshot& s) const {
  switch (s.tier) {
    case Tier::kSafe:
    case Tier::kWarning:
      return true;
    case Tier::kCritical:
    case Tier::kEmergency:
      return false;
    case Tier::kUnknown:
      return !config_.admission.refuse_when_unknown;
  }
  return false;
}

bool MemoryGuard::accepting_requests() const {
  return accepting(*sampler_.latest());
}

nlohmann::json MemoryGuard::health_json() const {
  const auto s = sampler_.latest();
  return health_memory_json(*s, kv_cache_bytes_.load(std::memory_order_relaxed), accepting(*s));
}

std::string MemoryGuard::prometheus_text() const {
  const auto s = sampler_.latest();
  return render_prometheus(*s, metrics_, {kv_cache_bytes_.load(std::memory_order_relaxed), accepting(*s)});
}

}  // namespace pensieve::memory
