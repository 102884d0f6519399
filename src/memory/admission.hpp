// memory/admission: the request-path decision — admit, refuse with 503 (come back later) or
// refuse with 400 (this request can never fit) — from the latest snapshot and the request's
// estimated extra bytes. The decision carries every number a response needs, so the server
// only formats it (Anthropic `overloaded_error`, retry-after, x-memory-status, x-available-memory-gb).
#pragma once

#include <cstdint>
#include <string>

#include "memory/metrics.hpp"
#include "memory/snapshot.hpp"

namespace pensieve::memory {

struct AdmissionPolicy {
  // When readings fail the tier is "unknown". Admitting keeps a server without /proc usable
  // (the status still says unknown everywhere); refusing is the cautious choice.
  bool refuse_when_unknown = false;
  std::uint32_t retry_after_seconds = 5;
  // RSS of the idle server after the model loaded; bounds what any request could ever get.
  std::uint64_t process_baseline_bytes = 0;
};

enum class AdmissionVerdict : std::uint8_t {
  kAdmit,
  kRefuseOverloaded /* 503 */,
  kRefuseNeverFits /* 400 */
};

struct AdmissionDecision {
  AdmissionVerdict verdict = AdmissionVerdict::kAdmit;
  RefusalReason reason = RefusalReason::kNone;
  int http_status = 200;
  Tier tier = Tier::kUnknown;
  bool available_known = false;
  std::uint64_t available_bytes = 0;
  std::uint64_t needed_bytes = 0;
  std::uint64_t critical_reserve_bytes = 0;  // kept free: the critical threshold
  std::uint64_t max_request_bytes = 0;       // what an idle server could ever give one request
  std::uint32_t retry_after_seconds = 0;     // 0 unless 503
  std::string message;                       // empty when admitted

  bool admitted() const { return verdict == AdmissionVerdict::kAdmit; }
  // Value for x-memory-status.
  const char* memory_status() const { return to_string(tier); }
  // Value for x-available-memory-gb: GiB with two decimals, "unknown" when not known.
  std::string available_gb_header() const;
};

// Pure: no counting, no allocation when the request is admitted.
AdmissionDecision decide_admission(const MemorySnapshot& snapshot, std::uint64_t needed_bytes,
                                   const AdmissionPolicy& policy);

// Formats the x-available-memory-gb value for any response, admitted or not.
std::string available_gb_header(const MemorySnapshot& snapshot);

}  // namespace pensieve::memory
