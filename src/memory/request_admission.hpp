// memory/request_admission: whether the server takes one more request, asked twice on its way
// in — before its body is read, from the body's declared size alone, and once its prompt is
// tokenized, from the request's estimate (memory/estimate: its KV cache, scratch and handling).
// The decisions carry every figure a refusal needs; the API layer only formats them.
#pragma once

#include <cstdint>

#include "memory/admission.hpp"
#include "memory/estimate.hpp"
#include "memory/guard.hpp"

namespace pensieve::memory {

// What a request costs on this server: the model as it is allocated, the context of one request,
// and whether the KV cache of every request was reserved at load (then a request adds none).
struct RequestCosts {
  ModelFigures model;
  std::uint64_t ctx_size = 0;
  bool kv_preallocated = false;
};

class RequestAdmission {
 public:
  RequestAdmission(MemoryGuard& guard, RequestCosts costs) : guard_(guard), costs_(std::move(costs)) {}

  // Before the body is read: refused at critical or worse whatever it needs, and otherwise when
  // reading, parsing and rendering it (a few times its declared size) would not fit. An admitted
  // body is not counted, so that its request is counted once, later, with its real cost; a
  // refusal is counted here.
  AdmissionDecision admit_body(std::uint64_t body_bytes);

  // Once the prompt is known: the request's estimate against the memory left; counted.
  AdmissionDecision admit_request(std::uint64_t prompt_tokens, std::uint64_t max_tokens);

 private:
  MemoryGuard& guard_;
  RequestCosts costs_;
};

}  // namespace pensieve::memory
