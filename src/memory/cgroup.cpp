#include "memory/cgroup.hpp"

#include <sys/stat.h>

#include <charconv>

namespace pensieve::memory {
namespace {

// v1 reports "no limit" as LONG_MAX rounded down to a page; anything this large is no limit.
constexpr std::uint64_t kUnlimitedFloor = std::uint64_t{1} << 62;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    const std::size_t at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return parts;
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
std::string unescape_octal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() + 0 && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string_view trim_line(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

Result<std::uint64_t> parse_usage(std::string_view text, const std::string& path) {
  text = trim_line(text);
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return make_error(ErrorCode::kInvalidFormat, path + " does not hold a byte count");
  }
  return value;
}

}  // namespace

const char* to_string(CgroupVersion version) {
  return version == CgroupVersion::kV1 ? "v1" : "v2";
}

CgroupLevel::CgroupLevel(CgroupVersion v, std::string d)
    : version(v),
      dir(std::move(d)),
      limit(dir + (v == CgroupVersion::kV2 ? "/memory.max" : "/memory.limit_in_bytes")),
      usage(dir + (v == CgroupVersion::kV2 ? "/memory.current" : "/memory.usage_in_bytes")) {}

std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo) {
  std::vector<CgroupMount> mounts;
  for (std::string_view line : split(mountinfo, '\n')) {
    // id parent major:minor root mount_point options [optional...] - fstype source super_options
    const std::size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    const auto head = split(line.substr(0, dash), ' ');
    const auto tail = split(line.substr(dash + 3), ' ');
    if (head.size() < 5 || tail.size() < 3) continue;
    CgroupMount mount;
    if (tail[0] == "cgroup2") {
      mount.version = CgroupVersion::kV2;
    } else if (tail[0] == "cgroup") {
      bool has_memory = false;
      for (std::string_view opt : split(tail[2], ',')) has_memory |= (opt == "memory");
      if (!has_memory) continue;
      mount.version = CgroupVersion::kV1;
    } else {
      continue;
    }
    mount.root = unescape_octal(head[3]);
    mount.mount_point = unescape_octal(head[4]);
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

std::vector<CgroupMembership> parse_cgroup_memberships(std::string_view proc_self_cgroup) {
  std::vector<CgroupMembership> out;
  for (std::string_view line : split(proc_self_cgroup, '\n')) {
    // hierarchy-id:controller-list:path ; the path itself may contain ':'
    const std::size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    const std::size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, first);
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string_view path = line.substr(second + 1);
    if (id == "0" && controllers.empty()) {
      out.push_back({CgroupVersion::kV2, std::string(path)});
      continue;
    }
    for (std::string_view c : split(controllers, ',')) {
      if (c == "memory") out.push_back({CgroupVersion::kV1, std::string(path)});
    }
  }
  return out;
}

std::vector<CgroupLevel> resolve_cgroup_levels(const std::vector<CgroupMount>& mounts,
                                               const std::vector<CgroupMembership>& memberships,
                                               const std::string& root_prefix,
                                               std::vector<std::string>& warnings) {
  std::vector<CgroupLevel> levels;
  for (const CgroupMembership& member : memberships) {
    const CgroupMount* chosen = nullptr;
    std::string relative;
    for (const CgroupMount& mount : mounts) {
      if (mount.version != member.version) continue;
      // The mounted root must be a prefix of our path ("/" always is).
      const std::string& root = mount.root;
      if (root == "/" || root.empty()) {
        chosen = &mount;
        relative = member.path;
        break;
      }
      if (member.path == root || (member.path.starts_with(root) && member.path[root.size()] == '/')) {
        chosen = &mount;
        relative = member.path.substr(root.size());
        break;
      }
    }
    if (!chosen) {
      bool any_of_version = false;
      for (const CgroupMount& mount : mounts) any_of_version |= (mount.version == member.version);
      // Only a v1 memory membership without its mount is worth a warning; a v2 "0::" line on a
      // host without cgroup2 mounted is ordinary.
      if (any_of_version || member.version == CgroupVersion::kV1) {
        warnings.push_back(std::string("cgroup ") + to_string(member.version) + " path " + member.path +
                           " is not visible under any mount; its memory limit cannot be read");
      }
      continue;
    }
    const std::string base = root_prefix + chosen->mount_point;
    // Walk from the mount root down to our cgroup, collecting each directory.
    std::vector<std::string> dirs{base};
    std::string current = base;
    for (std::string_view part : split(relative, '/')) {
      if (part.empty()) continue;
      current += '/';
      current += part;
      dirs.push_back(current);
    }
    if (!is_directory(dirs.back())) {
      warnings.push_back(std::string("cgroup ") + to_string(member.version) + " directory " + dirs.back() +
                         " does not exist; its memory limit cannot be read");
      continue;
    }
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) levels.emplace_back(member.version, *it);
  }
  return levels;
}

Result<std::optional<std::uint64_t>> parse_cgroup_limit(std::string_view text) {
  text = trim_line(text);
  if (text == "max") return std::optional<std::uint64_t>{};
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    // v1 can print -1 for "no limit" on some kernels.
    if (text == "-1") return std::optional<std::uint64_t>{};
    return make_error(ErrorCode::kInvalidFormat,
                      "cgroup memory limit '" + std::string(text) + "' is neither a byte count nor 'max'");
  }
  if (value >= kUnlimitedFloor) return std::optional<std::uint64_t>{};
  return std::optional<std::uint64_t>{value};
}

Result<CgroupReading> read_cgroup_levels(std::vector<CgroupLevel>& levels, std::string& scratch) {
  CgroupReading reading;
  reading.levels.reserve(levels.size());
  for (CgroupLevel& level : levels) {
    const std::string& limit_path = level.limit.path();
    const std::string& usage_path = level.usage.path();
    CgroupLevelReading entry{level.version, level.dir, std::nullopt, 0};

    Status read_limit = level.limit.read(scratch);
    if (!read_limit.ok()) {
      if (read_limit.error().code == ErrorCode::kNotFound) {
        reading.levels.push_back(std::move(entry));  // no memory controller at this level: no limit
        continue;
      }
      return read_limit.error();
    }
    auto limit = parse_cgroup_limit(scratch);
    if (!limit) return limit.error().with_context(limit_path);
    entry.limit_bytes = *limit;

    if (entry.limit_bytes) {
      Status read_usage = level.usage.read(scratch);
      if (!read_usage.ok()) {
        return read_usage.error().with_context("cgroup limit " + limit_path +
                                               " is set but usage is unreadable");
      }
      auto usage = parse_usage(scratch, usage_path);
      if (!usage) return usage.error();
      entry.usage_bytes = *usage;
      if (!reading.tightest_limit_bytes || *entry.limit_bytes < *reading.tightest_limit_bytes) {
        reading.tightest_limit_bytes = entry.limit_bytes;
      }
      const std::uint64_t headroom = entry.headroom_bytes();
      if (!reading.tightest_headroom_bytes || headroom < *reading.tightest_headroom_bytes) {
        reading.tightest_headroom_bytes = headroom;
        reading.limiting_dir = level.dir;
      }
    }
    reading.levels.push_back(std::move(entry));
  }
  return reading;
}

}  // namespace pensieve::memory
