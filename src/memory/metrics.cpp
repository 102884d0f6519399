#include "memory/metrics.hpp"

#include <cstdio>

namespace pensieve::memory {
namespace {

class Exposition {
 public:
  void header(const char* name, const char* type, const char* help) {
    out_ += "# HELP pensieve_memory_";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE pensieve_memory_";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(const char* name, const std::string& labels, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    line(name, labels, buf);
  }
  void sample(const char* name, const std::string& labels, std::uint64_t value) {
    line(name, labels, std::to_string(value));
  }
  std::string take() { return std::move(out_); }

 private:
  void line(const char* name, const std::string& labels, const std::string& value) {
    out_ += "pensieve_memory_";
    out_ += name;
    if (!labels.empty()) out_ += '{' + labels + '}';
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  std::string out_;
};

void gauge(Exposition& e, const char* name, const char* help, std::uint64_t value) {
  e.header(name, "gauge", help);
  e.sample(name, "", value);
}

}  // namespace

const char* to_string(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::kNone:
      return "none";
    case RefusalReason::kTierCritical:
      return "tier_critical";
    case RefusalReason::kWouldExceed:
      return "would_exceed";
    case RefusalReason::kUnknownMemory:
      return "unknown_memory";
    case RefusalReason::kNeverFits:
      return "never_fits";
  }
  return "none";
}

std::string render_prometheus(const MemorySnapshot& s, const MemoryMetrics& m,
                              const ExpositionExtras& extras) {
  Exposition e;
  const MemoryReading& r = s.reading;
  if (r.available_known) {
    gauge(e, "available_bytes", "Memory available to pensieve: min of host MemAvailable and cgroup headroom.",
          r.available_bytes);
    gauge(e, "total_bytes", "Effective total memory: min of host MemTotal and cgroup limits.", r.total_bytes);
  }
  if (r.cgroup_limit_bytes)
    gauge(e, "cgroup_limit_bytes", "Tightest cgroup memory limit above the process.", *r.cgroup_limit_bytes);
  if (r.process) {
    e.header("process_rss_bytes", "gauge",
             "Resident memory of the pensieve process by kind (anon includes the weights copied at load).");
    e.sample("process_rss_bytes", "kind=\"anon\"", r.process->rss_anon_bytes);
    e.sample("process_rss_bytes", "kind=\"file\"", r.process->rss_file_bytes);
    e.sample("process_rss_bytes", "kind=\"shmem\"", r.process->rss_shmem_bytes);
  }
  gauge(e, "kv_cache_bytes", "Bytes held by the engine's KV cache.", extras.kv_cache_bytes);
  if (r.swap_in_pages_per_second) {
    e.header("swap_pages_per_second", "gauge", "Host swap activity between the last two samples.");
    e.sample("swap_pages_per_second", "direction=\"in\"", *r.swap_in_pages_per_second);
    e.sample("swap_pages_per_second", "direction=\"out\"", *r.swap_out_pages_per_second);
  }
  if (r.pressure) {
    e.header("pressure_some_avg10", "gauge", "Share (%) of the last 10 s some task stalled on memory (PSI).");
    e.sample("pressure_some_avg10", "", r.pressure->some_avg10);
  }
  e.header("tier", "gauge", "Memory tier: 0 safe, 1 warning, 2 critical, 3 emergency, 4 unknown.");
  e.sample("tier", "", static_cast<std::uint64_t>(s.tier));
  e.header("tier_state", "gauge", "1 for the current memory tier, 0 for the others.");
  for (int t = 0; t < kTierCount; ++t) {
    e.sample("tier_state", std::string("tier=\"") + to_string(static_cast<Tier>(t)) + '"',
             std::uint64_t{static_cast<int>(s.tier) == t ? 1u : 0u});
  }
  e.header("threshold_bytes", "gauge", "Available memory below which each tier begins.");
  e.sample("threshold_bytes", "tier=\"warning\"", s.thresholds.warning_below);
  e.sample("threshold_bytes", "tier=\"critical\"", s.thresholds.critical_below);
  e.sample("threshold_bytes", "tier=\"emergency\"", s.thresholds.emergency_below);
  gauge(e, "accepting_requests", "1 while new requests are admitted.", extras.accepting_requests ? 1u : 0u);

  e.header("samples_total", "counter", "Memory readings taken.");
  e.sample("samples_total", "", m.samples.load(std::memory_order_relaxed));
  e.header("failed_samples_total", "counter", "Memory readings that left available memory unknown.");
  e.sample("failed_samples_total", "", m.failed_samples.load(std::memory_order_relaxed));
  e.header("admitted_total", "counter", "Requests admitted by the memory guard.");
  e.sample("admitted_total", "", m.admitted.load(std::memory_order_relaxed));
  e.header("refusals_total", "counter", "Requests refused by the memory guard, by reason.");
  for (int reason = 1; reason < kRefusalReasonCount; ++reason) {
    const auto rr = static_cast<RefusalReason>(reason);
    e.sample("refusals_total", std::string("reason=\"") + to_string(rr) + '"', m.refusal_count(rr));
  }
  e.header("emergency_cancellations_total", "counter",
           "Running generations cancelled in a memory emergency.");
  e.sample("emergency_cancellations_total", "", m.emergency_cancellations.load(std::memory_order_relaxed));
  e.header("heap_releases_total", "counter",
           "Times free heap pages were returned to the OS after requests ended.");
  e.sample("heap_releases_total", "", m.heap_releases.load(std::memory_order_relaxed));
  e.header("tier_transitions_total", "counter", "Tier changes, by the tier entered.");
  for (int t = 0; t < kTierCount; ++t) {
    const auto tier = static_cast<Tier>(t);
    e.sample("tier_transitions_total", std::string("to=\"") + to_string(tier) + '"',
             m.transitions_into_count(tier));
  }
  return e.take();
}

}  // namespace pensieve::memory
