// memory/reader: one full memory reading — host meminfo, every cgroup above the process, the
// process's own RSS, swap activity and pressure stall — taken from the real /proc and
// /sys/fs/cgroup or from a fake tree under a root directory (tests), with the option of a
// meminfo-format file standing in for /proc/meminfo (`--memory-source file:PATH`).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "memory/cgroup.hpp"
#include "memory/proc_parsers.hpp"
#include "memory/text_file.hpp"

namespace pensieve::memory {

// Where host memory figures come from.
struct MemorySource {
  enum class Kind { kProc, kMeminfoFile };
  // Declared constructors (not an aggregate) sidestep a g++ 12 -Wmaybe-uninitialized false
  // positive when a default MemorySource is brace-initialized inside another aggregate.
  MemorySource() = default;
  MemorySource(Kind k, std::string p) : kind(k), path(std::move(p)) {}

  Kind kind = Kind::kProc;
  std::string path;  // for kMeminfoFile: read at every sample, so it can be edited while running

  std::string to_string() const;  // "proc" or "file:PATH"
};

// Parses the --memory-source option: "proc" (default) or "file:PATH".
Result<MemorySource> parse_memory_source(std::string_view text);

struct ReaderConfig {
  std::string root;  // prefix for /proc and /sys paths; empty means the real filesystem
  MemorySource source;
  std::string pid = "self";  // whose status and cgroups are read
};

struct MemoryReading {
  std::chrono::steady_clock::time_point taken_at{};
  // False when available memory could not be established: the tier must be "unknown".
  bool available_known = false;
  std::uint64_t available_bytes = 0;  // min(host MemAvailable, tightest cgroup headroom)
  std::uint64_t total_bytes = 0;      // min(host MemTotal, tightest cgroup limit)
  std::uint64_t host_total_bytes = 0;
  std::uint64_t host_available_bytes = 0;
  std::optional<std::uint64_t> cgroup_limit_bytes;
  std::optional<std::uint64_t> cgroup_headroom_bytes;
  std::string limiting_cgroup;  // directory of the cgroup with the least headroom, if any
  std::optional<ProcessMemory> process;
  std::optional<double> swap_in_pages_per_second;  // absent on the first reading
  std::optional<double> swap_out_pages_per_second;
  std::optional<PressureStall> pressure;  // absent where the kernel has no PSI
  std::vector<std::string> warnings;      // every reading that failed, in words
};

// Not thread-safe: one sampler thread owns it. Cgroup directories are discovered at
// construction (and on rediscover_cgroups()); limits and usage are re-read every time, through
// descriptors kept open on procfs and cgroupfs (see KernelFile). Movable, not copyable.
class MemoryReader {
 public:
  explicit MemoryReader(ReaderConfig config);

  MemoryReading read();
  void rediscover_cgroups();

  const std::vector<CgroupLevel>& cgroup_levels() const { return cgroup_levels_; }
  const ReaderConfig& config() const { return config_; }

 private:
  std::string proc_path(std::string_view relative) const;

  ReaderConfig config_;
  KernelFile meminfo_;
  KernelFile status_;
  KernelFile vmstat_;
  KernelFile pressure_;
  std::vector<CgroupLevel> cgroup_levels_;
  std::vector<std::string> discovery_warnings_;
  std::optional<SwapCounters> last_swap_;
  std::chrono::steady_clock::time_point last_swap_at_{};
  bool pressure_absent_ = false;  // PSI missing is normal (kernel option); stop retrying
  std::string buffer_;            // reused for every file
};

}  // namespace pensieve::memory
