// api/memory_refusal: a memory guard's refusal as the Anthropic API answers it — 400
// invalid_request_error when the request could never fit, 503 overloaded_error (retried later)
// otherwise.
#pragma once

#include <optional>

#include "api/error.hpp"
#include "memory/admission.hpp"

namespace pensieve::api {

// nullopt when the decision admits.
std::optional<ApiError> memory_refusal(const memory::AdmissionDecision& decision);

}  // namespace pensieve::api
