#include "memory/request_admission.hpp"

namespace pensieve::memory {
namespace {

constexpr std::uint64_t kBodyCostFactor = 4;  // measured: a 29 MB body peaked at +119 MB
// Small bodies are judged later, with their prompt's real cost and its clearer message.
constexpr std::uint64_t kBodyJudgedFrom = 1u << 20;

}  // namespace

AdmissionDecision RequestAdmission::admit_body(std::uint64_t body_bytes) {
  const std::uint64_t cost = body_bytes < kBodyJudgedFrom ? 0 : kBodyCostFactor * body_bytes;
  if (guard_.accepting_requests()) {
    AdmissionDecision look_ahead = guard_.would_admit(cost);
    if (look_ahead.admitted()) return look_ahead;
  }
  return guard_.admit(cost);
}

AdmissionDecision RequestAdmission::admit_request(std::uint64_t prompt_tokens, std::uint64_t max_tokens) {
  const RequestEstimate estimate =
      estimate_request(costs_.model, prompt_tokens, max_tokens, costs_.ctx_size, costs_.kv_preallocated);
  return guard_.admit(estimate.total_bytes);
}

}  // namespace pensieve::memory
