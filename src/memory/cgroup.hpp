// memory/cgroup: finds the memory cgroups that bound this process (v1 memory controller and
// v2 unified hierarchy, walking up to the mount's root) and reads their limits and usage. A
// container or systemd slice limit is often far below the host's free memory, so the tightest
// headroom of any ancestor is what the guard must respect.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "memory/text_file.hpp"

namespace pensieve::memory {

enum class CgroupVersion { kV1, kV2 };
const char* to_string(CgroupVersion version);

// A mounted hierarchy that can carry memory limits: cgroup v1 with the memory controller, or cgroup2.
struct CgroupMount {
  CgroupVersion version = CgroupVersion::kV2;
  std::string mount_point;  // where it is mounted, e.g. /sys/fs/cgroup/memory
  std::string root;  // which cgroup of the hierarchy is mounted there ("/" unless namespaced or bind-mounted)
};

// One line of /proc/self/cgroup that matters to memory: the v1 memory line or the v2 "0::" line.
struct CgroupMembership {
  CgroupVersion version = CgroupVersion::kV2;
  std::string path;  // e.g. /user.slice/user-1000.slice/session-2.scope
};

std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo);
std::vector<CgroupMembership> parse_cgroup_memberships(std::string_view proc_self_cgroup);

// A cgroup directory whose memory files bound the process, innermost first.
struct CgroupLevel {
  CgroupLevel(CgroupVersion v, std::string d);

  CgroupVersion version = CgroupVersion::kV2;
  std::string dir;   // filesystem path, with the root prefix applied
  KernelFile limit;  // memory.max (v2) or memory.limit_in_bytes (v1)
  KernelFile usage;  // memory.current (v2) or memory.usage_in_bytes (v1)
};

// Maps memberships onto mounts and lists every directory from the process's own cgroup up to
// the mounted root. `root_prefix` is prepended to mount points (tests build fake trees). A
// membership whose directory cannot be found adds a line to `warnings` and contributes nothing.
std::vector<CgroupLevel> resolve_cgroup_levels(const std::vector<CgroupMount>& mounts,
                                               const std::vector<CgroupMembership>& memberships,
                                               const std::string& root_prefix,
                                               std::vector<std::string>& warnings);

// "max" (v2) and the v1 "unlimited" sentinel (close to 2^63) read as nullopt.
Result<std::optional<std::uint64_t>> parse_cgroup_limit(std::string_view text);

struct CgroupLevelReading {
  CgroupVersion version = CgroupVersion::kV2;
  std::string dir;
  std::optional<std::uint64_t> limit_bytes;  // nullopt: no limit at this level
  std::uint64_t usage_bytes = 0;
  std::uint64_t headroom_bytes() const {
    return limit_bytes ? (*limit_bytes > usage_bytes ? *limit_bytes - usage_bytes : 0) : UINT64_MAX;
  }
};

struct CgroupReading {
  std::optional<std::uint64_t> tightest_limit_bytes;     // smallest limit of any level
  std::optional<std::uint64_t> tightest_headroom_bytes;  // smallest limit − usage of any limited level
  std::string limiting_dir;                              // the level that gave the smallest headroom
  std::vector<CgroupLevelReading> levels;
};

// Reads memory.max/memory.current (v2) or memory.limit_in_bytes/memory.usage_in_bytes (v1) at each
// level. A level without the limit file has no limit (v2 root, controller not enabled there); a
// limit without a readable usage, or a file that does not parse, is an error: the caller must
// report "unknown" rather than assume there is room.
Result<CgroupReading> read_cgroup_levels(std::vector<CgroupLevel>& levels, std::string& scratch);

}  // namespace pensieve::memory
