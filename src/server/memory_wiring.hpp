// server/memory_wiring: plugs the memory policy (memory/memory_policy) into the server — its
// admission checks before a body is read and before a generation starts, the x-memory-status /
// x-available-memory-gb headers on every response, and /health and /metrics. The policy itself
// (admission, shedding order, heap release) is memory/'s; this only routes to it.
#pragma once

#include <string>

#include "api/messages_service.hpp"
#include "engine/scheduler.hpp"
#include "memory/estimate.hpp"
#include "memory/guard.hpp"
#include "server/http_server.hpp"

namespace pensieve::server {

struct MemoryWiring {
  memory::MemoryGuard& guard;
  engine::Scheduler& scheduler;
  memory::ModelFigures figures;
  std::uint64_t ctx_size = 0;
  bool kv_preallocated = true;  // false: a request's KV cache takes memory as it grows (a pool)
  nlohmann::json model_json;    // the "model" object of /health
};

// Starts the memory policy on the guard's readings (it logs through `log`, one line per
// intervention), sets the service's admission check and returns hooks for the HTTP server.
ServerHooks wire_memory(const MemoryWiring& wiring, api::MessagesService& service,
                        std::function<void(const std::string&)> log);

}  // namespace pensieve::server
