#include "server/memory_wiring.hpp"

#include "api/memory_refusal.hpp"
#include "engine/scheduler_workload.hpp"
#include "memory/memory_policy.hpp"
#include "server/load_report.hpp"
#include "server/prompt_cache_report.hpp"

namespace pensieve::server {

ServerHooks wire_memory(const MemoryWiring& w, api::MessagesService& service,
                        std::function<void(const std::string&)> log) {
  std::shared_ptr<memory::MemoryPolicy> policy =
      memory::MemoryPolicy::start(w.guard, std::make_unique<engine::SchedulerWorkload>(w.scheduler),
                                  {w.figures, w.ctx_size, w.kv_preallocated}, log);
  engine::Scheduler* scheduler = &w.scheduler;

  service.set_admission_check([policy](std::int64_t prompt_tokens, std::int64_t max_tokens) {
    return api::memory_refusal(policy->admission().admit_request(static_cast<std::uint64_t>(prompt_tokens),
                                                                 static_cast<std::uint64_t>(max_tokens)));
  });

  ServerHooks hooks;
  hooks.refuse_before_reading = [policy](std::uint64_t body_bytes) {
    return api::memory_refusal(policy->admission().admit_body(body_bytes));
  };
  hooks.response_headers = [policy](bool details) {
    policy->count_response();
    const auto snapshot = policy->guard().snapshot();
    HeaderList headers{{"x-memory-status", memory::to_string(snapshot->tier)}};
    if (details) headers.emplace_back("x-available-memory-gb", memory::available_gb_header(*snapshot));
    return headers;
  };
  hooks.health = [policy, scheduler, model = w.model_json](bool details) {
    const engine::SchedulerStats stats = scheduler->stats();
    nlohmann::json memory = policy->health_json();
    const bool accepting = policy->guard().accepting_requests();
    const int status = accepting ? 200 : 503;
    if (!details) {
      const nlohmann::ordered_json body{{"status", accepting ? "ok" : "degraded"},
                                        {"memory", {{"status", memory["status"]}}}};
      return api::Reply{status, body.dump()};
    }
    nlohmann::ordered_json body{{"status", accepting ? "ok" : "degraded"},
                                {"model", model},
                                {"memory", std::move(memory)},
                                {"prompt_cache", prompt_cache_json(stats)}};
    return api::Reply{status, body.dump()};
  };
  hooks.metrics = [policy, scheduler] {
    const engine::SchedulerStats stats = scheduler->stats();
    return policy->prometheus_text() + prompt_cache_metrics(stats) + load_metrics(stats);
  };
  hooks.log = std::move(log);
  return hooks;
}

}  // namespace pensieve::server
