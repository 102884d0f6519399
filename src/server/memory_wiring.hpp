// server/memory_wiring: plugs the memory guard into the server — admission before a
// generation starts (503 overloaded_error, or 400 when it could never fit), the
// x-memory-status / x-available-memory-gb headers on every response, /health and /metrics,
// and emergency shedding of running generations, newest first.
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

// Sets the service's admission check and returns hooks for the HTTP server. Also registers the
// guard's snapshot listener that cancels generations in an emergency; `log` receives one line
// per intervention.
ServerHooks wire_memory(const MemoryWiring& wiring, api::MessagesService& service,
                        std::function<void(const std::string&)> log);

}  // namespace pensieve::server
