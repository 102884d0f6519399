// cli/serve_upstream: `pensieve serve --upstream URL…` — the same API served from OpenAI-compatible
// upstream servers instead of a local model. Flag parsing stays in cmd_serve; this wires the
// upstream pool, its health monitor, the memory guard of the front process and the HTTP server.
#pragma once

#include <string>
#include <vector>

#include "cli/memory_options.hpp"

namespace pensieve::cli {

struct UpstreamServeArgs {
  std::vector<std::string> upstreams;
  std::string key;             // --upstream-key
  std::string upstream_model;  // --upstream-model; empty: the first model the upstreams list
  std::size_t max_outstanding = 16;
  double max_waiting = 4;
  double health_interval_seconds = 1.0;
  // Shared with the local mode.
  std::string model_name;
  std::string host;
  int port = 7777;
  std::vector<std::string> api_keys;
  bool insecure = false;
  MemoryOptions memory;
  int shutdown_grace_seconds = 10;
  double ping_interval_seconds = 2.0;
};

// Logging is set up by the caller. Returns the exit code.
int run_upstream_serve(const UpstreamServeArgs& args);

}  // namespace pensieve::cli
