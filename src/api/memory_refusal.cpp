#include "api/memory_refusal.hpp"

namespace pensieve::api {

std::optional<ApiError> memory_refusal(const memory::AdmissionDecision& decision) {
  if (decision.admitted()) return std::nullopt;
  if (decision.verdict == memory::AdmissionVerdict::kRefuseNeverFits)
    return invalid_request(decision.message);
  return overloaded(decision.message, 503);
}

}  // namespace pensieve::api
