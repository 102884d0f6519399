#include "server/memory_wiring.hpp"

#include "memory/admission.hpp"

namespace pensieve::server {

ServerHooks wire_memory(const MemoryWiring& w, api::MessagesService& service,
                        std::function<void(const std::string&)> log) {
  memory::MemoryGuard* guard = &w.guard;
  engine::Scheduler* scheduler = &w.scheduler;
  const memory::ModelFigures figures = w.figures;
  const std::uint64_t ctx = w.ctx_size;
  const bool preallocated = w.kv_preallocated;

  service.set_admission_check([guard, figures, ctx, preallocated](
                                  std::int64_t prompt_tokens,
                                  std::int64_t max_tokens) -> std::optional<api::ApiError> {
    const auto estimate = memory::estimate_request(figures, static_cast<std::uint64_t>(prompt_tokens),
                                                   static_cast<std::uint64_t>(max_tokens), ctx, preallocated);
    const auto decision = guard->admit(estimate.total_bytes);
    if (decision.admitted()) return std::nullopt;
    if (decision.verdict == memory::AdmissionVerdict::kRefuseNeverFits)
      return api::invalid_request(decision.message);
    return api::overloaded(decision.message, 503);
  });

  guard->set_listener([guard, scheduler, log](const memory::MemorySnapshot& snapshot) {
    if (snapshot.tier != memory::Tier::kEmergency) return;
    std::vector<memory::RunningGeneration> running;
    for (const auto& job : scheduler->running()) running.push_back({job.id, job.started_at, 0});
    if (running.empty()) return;
    for (auto id : guard->emergency_cancellations(running)) {
      scheduler->cancel(id);
      if (log) log("memory emergency: cancelled generation " + std::to_string(id));
    }
  });

  ServerHooks hooks;
  hooks.response_headers = [guard] {
    const auto snapshot = guard->snapshot();
    return HeaderList{{"x-memory-status", memory::to_string(snapshot->tier)},
                      {"x-available-memory-gb", memory::available_gb_header(*snapshot)}};
  };
  hooks.health = [guard, model = w.model_json] {
    const bool accepting = guard->accepting_requests();
    nlohmann::ordered_json body{
        {"status", accepting ? "ok" : "degraded"}, {"model", model}, {"memory", guard->health_json()}};
    return api::Reply{accepting ? 200 : 503, body.dump()};
  };
  hooks.metrics = [guard] { return guard->prometheus_text(); };
  hooks.log = std::move(log);
  return hooks;
}

}  // namespace pensieve::server
