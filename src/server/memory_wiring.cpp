#include "server/memory_wiring.hpp"

#include <atomic>

#include "memory/admission.hpp"
#include "memory/byte_size.hpp"
#include "memory/release.hpp"

namespace pensieve::server {
namespace {

// What the sampler listener remembers between readings.
struct SnapshotWatch {
  bool first = true;
  memory::Tier tier = memory::Tier::kUnknown;
  std::string warning;
  std::uint64_t finished = 0;   // generations ended, as of the last release
  std::uint64_t responses = 0;  // HTTP responses sent, as of the last release

  // One log line per tier change, and per new reason a reading fails: never a silent "unknown".
  void log_changes(const memory::MemorySnapshot& s, const std::function<void(const std::string&)>& log) {
    if (!log) return;
    const std::string now_warning = s.reading.warnings.empty() ? std::string() : s.reading.warnings.front();
    if (first || s.tier != tier) {
      std::string line =
          "memory: " + std::string(first ? "" : std::string(memory::to_string(tier)) + " -> ") +
          memory::to_string(s.tier);
      if (s.reading.available_known) {
        line += ", " + memory::format_bytes(s.reading.available_bytes) + " available of " +
                memory::format_bytes(s.reading.total_bytes);
      }
      if (!now_warning.empty()) line += " (" + now_warning + ")";
      log(line);
    } else if (!now_warning.empty() && now_warning != warning) {
      log("memory: " + now_warning);
    }
    first = false;
    tier = s.tier;
    warning = now_warning;
  }

  // A request that ended — finished, failed, cancelled or refused — leaves freed heap pages that
  // glibc keeps mapped; hand them back so RSS returns to the idle baseline. Done here, off the
  // request path, once per reading that follows the end of generations or other responses.
  void release_after_requests(memory::MemoryGuard& guard, const engine::Scheduler& scheduler,
                              std::uint64_t now_responses) {
    const std::uint64_t now_finished = scheduler.stats().finished;
    if (now_finished == finished && now_responses == responses) return;
    finished = now_finished;
    responses = now_responses;
    memory::release_free_heap();
    guard.metrics().heap_releases.fetch_add(1, std::memory_order_relaxed);
  }
};

// The prompt cache as /health shows it: tokens held, and since start the share of admitted
// prompt tokens found there (of which those read from disk); what the disk holds.
nlohmann::ordered_json prompt_cache_json(const engine::SchedulerStats& s) {
  const std::uint64_t prompts = s.prompt_tokens_reused + s.prompt_tokens_computed;
  return {{"cached_tokens", s.cached_tokens},
          {"prompt_tokens_reused", s.prompt_tokens_reused},
          {"prompt_tokens_computed", s.prompt_tokens_computed},
          {"hit_rate",
           prompts == 0 ? 0.0 : static_cast<double>(s.prompt_tokens_reused) / static_cast<double>(prompts)},
          {"prompt_tokens_loaded", s.prompt_tokens_loaded},
          {"cached_sequences", s.cached_sequences},
          {"kv_pool",
           {{"block_tokens", s.pool.block_tokens},
            {"total_blocks", s.pool.total_blocks},
            {"free_blocks", s.pool.free_blocks},
            {"cached_only_blocks", s.pool.unpinned_only_blocks},
            {"block_bytes", s.pool.block_bytes}}},
          {"disk", {{"prefixes", s.stored_prefixes}, {"bytes", s.stored_bytes}}}};
}

std::string prompt_cache_metrics(const engine::SchedulerStats& s) {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("pensieve_prompt_cache_tokens", "gauge", "Tokens whose KV cache is kept for a next request.",
         s.cached_tokens);
  metric("pensieve_prompt_tokens_reused_total", "counter", "Prompt tokens found cached, not computed.",
         s.prompt_tokens_reused);
  metric("pensieve_prompt_tokens_computed_total", "counter", "Prompt tokens computed.",
         s.prompt_tokens_computed);
  metric("pensieve_prompt_tokens_loaded_total", "counter",
         "Reused prompt tokens read from the cache on disk.", s.prompt_tokens_loaded);
  metric("pensieve_prompt_cache_disk_bytes", "gauge", "Bytes of saved prompt caches on disk.",
         s.stored_bytes);
  metric("pensieve_kv_pool_blocks", "gauge", "Blocks of the KV cache pool.", s.pool.total_blocks);
  metric("pensieve_kv_pool_free_blocks", "gauge", "Free blocks of the KV cache pool.", s.pool.free_blocks);
  metric("pensieve_kv_pool_cached_only_blocks", "gauge",
         "KV blocks held only by cached prompts (given back under memory pressure).", s.pool.unpinned_only_blocks);
  return out;
}

}  // namespace

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

  // Runs on the sampler thread after every reading (serialized by the sampler).
  auto watch = std::make_shared<SnapshotWatch>();
  watch->log_changes(*guard->snapshot(), log);  // the state at start-up, before any listener runs
  auto responses = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto last_tier = std::make_shared<memory::Tier>(guard->snapshot()->tier);
  guard->set_listener([guard, scheduler, log, watch, responses, last_tier](const memory::MemorySnapshot& snapshot) {
    watch->log_changes(snapshot, log);
    // Cached prompts are the first memory to give back: half of them on entering warning, all on
    // entering critical or worse (running generations keep what they use).
    // At critical or worse at every reading, since finished requests refill the cache.
    const memory::Tier tier = snapshot.tier;
    if (tier != memory::Tier::kUnknown) {
      const bool entered_warning = tier == memory::Tier::kWarning && (*last_tier == memory::Tier::kSafe ||
                                                                      *last_tier == memory::Tier::kUnknown);
      if (entered_warning) scheduler->relieve_memory(engine::CacheRelief::kShrink);
      if (tier == memory::Tier::kCritical) scheduler->relieve_memory(engine::CacheRelief::kDrop);
      *last_tier = tier;
    }
    // In an emergency, cached prompts are freed before any work is cancelled: while they hold
    // blocks, cancelling waits for the next reading.
    const bool cache_to_free = scheduler->stats().pool.unpinned_only_blocks != 0;
    if (snapshot.tier == memory::Tier::kEmergency && cache_to_free) {
      scheduler->relieve_memory(engine::CacheRelief::kDrop);
    } else if (snapshot.tier == memory::Tier::kEmergency) {
      std::vector<memory::RunningGeneration> running;
      for (const auto& job : scheduler->running()) running.push_back({job.id, job.started_at, 0});
      if (!running.empty()) {
        const auto ids = guard->emergency_cancellations(running);
        if (!ids.empty()) {
          const std::string why =
              "memory emergency: " + memory::format_bytes(snapshot.reading.available_bytes) +
              " available, below the emergency threshold of " +
              memory::format_bytes(snapshot.thresholds.emergency_below) +
              "; the newest generations were stopped to keep the machine up. Retry when memory recovers";
          for (auto id : ids) scheduler->cancel(id, why);
          if (log) log(guard->emergency_records().back().message);
        }
      }
    }
    watch->release_after_requests(*guard, *scheduler, responses->load(std::memory_order_relaxed));
  });

  ServerHooks hooks;
  // Before a generation's body is read: refused at critical or worse whatever it needs, and
  // otherwise when reading it, parsing it and rendering its prompt (a few times its declared size)
  // would not fit. Asked without counting, so that an admitted request is counted once, later,
  // with its real cost; a refusal is counted here.
  hooks.refuse_before_reading = [guard](std::uint64_t body_bytes) -> std::optional<api::ApiError> {
    constexpr std::uint64_t kBodyCostFactor = 4;  // measured: a 29 MB body peaked at +119 MB
    // Small bodies are judged later, with their prompt's real cost and its clearer message.
    constexpr std::uint64_t kJudgedFrom = 1u << 20;
    const std::uint64_t cost = body_bytes < kJudgedFrom ? 0 : kBodyCostFactor * body_bytes;
    if (guard->accepting_requests() && guard->would_admit(cost).admitted()) return std::nullopt;
    const auto decision = guard->admit(cost);
    if (decision.admitted()) return std::nullopt;
    if (decision.verdict == memory::AdmissionVerdict::kRefuseNeverFits)
      return api::invalid_request(decision.message);
    return api::overloaded(decision.message, 503);
  };

  hooks.response_headers = [guard, responses](bool details) {
    responses->fetch_add(1, std::memory_order_relaxed);
    const auto snapshot = guard->snapshot();
    HeaderList headers{{"x-memory-status", memory::to_string(snapshot->tier)}};
    if (details) headers.emplace_back("x-available-memory-gb", memory::available_gb_header(*snapshot));
    return headers;
  };
  // The KV memory the guard reports is what the scheduler's pool holds now.
  auto kv_held = [guard](const engine::SchedulerStats& s) {
    if (s.pool.block_tokens != 0)
      guard->set_kv_cache_bytes((s.pool.total_blocks - s.pool.free_blocks) * s.pool.block_bytes);
  };
  hooks.health = [guard, scheduler, kv_held, model = w.model_json](bool details) {
    const engine::SchedulerStats stats = scheduler->stats();
    kv_held(stats);
    const bool accepting = guard->accepting_requests();
    const int status = accepting ? 200 : 503;
    nlohmann::json memory = guard->health_json();
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
  hooks.metrics = [guard, scheduler, kv_held] {
    const engine::SchedulerStats stats = scheduler->stats();
    kv_held(stats);
    return guard->prometheus_text() + prompt_cache_metrics(stats);
  };
  hooks.log = std::move(log);
  return hooks;
}

}  // namespace pensieve::server
