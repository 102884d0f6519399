// cli/memory_options: the memory guard's command-line flags (source, tier thresholds,
// hysteresis, sampling interval), shared by `serve` and `inspect` so both see memory the same way.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core/result.hpp"
#include "memory/guard.hpp"

namespace pensieve::cli {

struct MemoryOptions {
  std::string source = "proc";
  std::string warning = "2GiB";
  std::string critical = "1GiB";
  std::string emergency = "512MiB";
  std::string hysteresis = "128MiB";
  int interval_ms = 200;
  bool refuse_when_unknown = false;
};

// `sampling` adds the flags that only matter to a running server (interval, unknown policy).
void add_memory_options(CLI::App& command, MemoryOptions& options, bool sampling);

// The guard configuration the flags describe; an error names the flag that is wrong.
Result<memory::MemoryGuardConfig> memory_guard_config(const MemoryOptions& options);

}  // namespace pensieve::cli
