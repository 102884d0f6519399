#include "memory/admission.hpp"

#include <cstdio>

#include "memory/byte_size.hpp"

namespace pensieve::memory {
namespace {

std::string gb_text(bool known, std::uint64_t bytes) {
  if (!known) return "unknown";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(bytes) / static_cast<double>(kGiB));
  return buf;
}

}  // namespace

std::string AdmissionDecision::available_gb_header() const {
  return gb_text(available_known, available_bytes);
}

std::string available_gb_header(const MemorySnapshot& snapshot) {
  return gb_text(snapshot.reading.available_known, snapshot.reading.available_bytes);
}

AdmissionDecision decide_admission(const MemorySnapshot& snapshot, std::uint64_t needed_bytes,
                                   const AdmissionPolicy& policy) {
  const MemoryReading& r = snapshot.reading;
  AdmissionDecision d;
  d.tier = snapshot.tier;
  d.available_known = r.available_known && snapshot.tier != Tier::kUnknown;
  d.available_bytes = r.available_bytes;
  d.needed_bytes = needed_bytes;
  d.critical_reserve_bytes = snapshot.thresholds.critical_below;

  if (!d.available_known) {
    if (!policy.refuse_when_unknown) return d;
    d.verdict = AdmissionVerdict::kRefuseOverloaded;
    d.reason = RefusalReason::kUnknownMemory;
    d.http_status = 503;
    d.retry_after_seconds = policy.retry_after_seconds;
    d.message =
        "memory status is unknown (the memory readings failed), so the server is not accepting requests; "
        "this request needs about " +
        format_bytes(needed_bytes) + ". Retry later.";
    return d;
  }

  const std::uint64_t fixed = policy.process_baseline_bytes + d.critical_reserve_bytes;
  d.max_request_bytes = r.total_bytes > fixed ? r.total_bytes - fixed : 0;
  if (needed_bytes > d.max_request_bytes) {
    d.verdict = AdmissionVerdict::kRefuseNeverFits;
    d.reason = RefusalReason::kNeverFits;
    d.http_status = 400;
    d.message = "this request can never fit in memory: it needs about " + format_bytes(needed_bytes) +
                ", but even an idle server has at most " + format_bytes(d.max_request_bytes) +
                " for one request (" + format_bytes(r.total_bytes) + " total − " +
                format_bytes(policy.process_baseline_bytes) + " for the server and model − " +
                format_bytes(d.critical_reserve_bytes) +
                " kept free). Lower max_tokens or shorten the prompt.";
    return d;
  }

  const bool tier_refuses = snapshot.tier == Tier::kCritical || snapshot.tier == Tier::kEmergency;
  const bool would_exceed = r.available_bytes < d.critical_reserve_bytes ||
                            needed_bytes > r.available_bytes - d.critical_reserve_bytes;
  if (!tier_refuses && !would_exceed) return d;

  d.verdict = AdmissionVerdict::kRefuseOverloaded;
  d.http_status = 503;
  d.retry_after_seconds = policy.retry_after_seconds;
  const std::string figures = format_bytes(r.available_bytes) + " available, this request needs about " +
                              format_bytes(needed_bytes) + " and the server keeps " +
                              format_bytes(d.critical_reserve_bytes) + " free";
  const std::string retry =
      ". Retry in " + std::to_string(policy.retry_after_seconds) + " s, or lower max_tokens.";
  if (tier_refuses) {
    d.reason = RefusalReason::kTierCritical;
    d.message = std::string("memory is ") + to_string(snapshot.tier) + ": " + figures + retry;
  } else {
    d.reason = RefusalReason::kWouldExceed;
    d.message = "not enough memory for this request: " + figures + retry;
  }
  return d;
}

}  // namespace pensieve::memory
