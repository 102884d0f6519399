#include "memory/reader.hpp"

#include <algorithm>

#include "memory/text_file.hpp"

namespace pensieve::memory {

std::string MemorySource::to_string() const {
  return kind == Kind::kProc ? std::string("proc") : "file:" + path;
}

Result<MemorySource> parse_memory_source(std::string_view text) {
  if (text.empty() || text == "proc") return MemorySource{};
  if (text.starts_with("file:")) {
    MemorySource source{MemorySource::Kind::kMeminfoFile, std::string(text.substr(5))};
    if (source.path.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--memory-source file: needs a path, e.g. file:/tmp/meminfo");
    }
    return source;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "--memory-source '" + std::string(text) +
                        "' is not understood; use 'proc' or 'file:PATH' (a file in /proc/meminfo format)");
}

MemoryReader::MemoryReader(ReaderConfig config) : config_(std::move(config)) {
  meminfo_ = KernelFile(config_.source.kind == MemorySource::Kind::kMeminfoFile ? config_.source.path
                                                                                : proc_path("meminfo"));
  status_ = KernelFile(proc_path(config_.pid + "/status"));
  vmstat_ = KernelFile(proc_path("vmstat"));
  pressure_ = KernelFile(proc_path("pressure/memory"));
  rediscover_cgroups();
}

std::string MemoryReader::proc_path(std::string_view relative) const {
  return config_.root + "/proc/" + std::string(relative);
}

void MemoryReader::rediscover_cgroups() {
  discovery_warnings_.clear();
  cgroup_levels_.clear();
  std::string mountinfo;
  std::string memberships;
  Status got_mounts = read_text_file(proc_path(config_.pid + "/mountinfo"), mountinfo);
  Status got_members = read_text_file(proc_path(config_.pid + "/cgroup"), memberships);
  if (!got_members.ok()) {
    // No /proc/<pid>/cgroup: a kernel without cgroups, where there is no limit to find.
    if (got_members.error().code != ErrorCode::kNotFound)
      discovery_warnings_.push_back(got_members.error().message);
    return;
  }
  std::vector<CgroupMount> mounts;
  if (got_mounts.ok()) {
    mounts = parse_cgroup_mounts(mountinfo);
  } else {
    discovery_warnings_.push_back(got_mounts.error().message + "; assuming cgroups at /sys/fs/cgroup");
    mounts = {{CgroupVersion::kV2, "/sys/fs/cgroup", "/"},
              {CgroupVersion::kV1, "/sys/fs/cgroup/memory", "/"}};
  }
  cgroup_levels_ =
      resolve_cgroup_levels(mounts, parse_cgroup_memberships(memberships), config_.root, discovery_warnings_);
}

MemoryReading MemoryReader::read() {
  MemoryReading r;
  r.taken_at = std::chrono::steady_clock::now();
  r.warnings = discovery_warnings_;

  bool host_ok = false;
  if (Status s = meminfo_.read(buffer_); !s.ok()) {
    r.warnings.push_back("host memory unknown: " + s.error().message);
  } else if (auto info = parse_meminfo(buffer_); !info) {
    r.warnings.push_back("host memory unknown: " + meminfo_.path() + ": " + info.error().message);
  } else {
    host_ok = true;
    r.host_total_bytes = info->total_bytes;
    r.host_available_bytes = info->available_bytes;
  }

  bool cgroup_ok = true;
  if (!cgroup_levels_.empty()) {
    auto cg = read_cgroup_levels(cgroup_levels_, buffer_);
    if (!cg) {
      cgroup_ok = false;
      r.warnings.push_back("cgroup memory unknown: " + cg.error().message);
    } else {
      r.cgroup_limit_bytes = cg->tightest_limit_bytes;
      r.cgroup_headroom_bytes = cg->tightest_headroom_bytes;
      r.limiting_cgroup = std::move(cg->limiting_dir);
    }
  }

  r.available_known = host_ok && cgroup_ok;
  if (r.available_known) {
    r.available_bytes = r.host_available_bytes;
    r.total_bytes = r.host_total_bytes;
    if (r.cgroup_headroom_bytes) r.available_bytes = std::min(r.available_bytes, *r.cgroup_headroom_bytes);
    if (r.cgroup_limit_bytes) r.total_bytes = std::min(r.total_bytes, *r.cgroup_limit_bytes);
  }

  if (Status s = status_.read(buffer_); !s.ok()) {
    r.warnings.push_back("process RSS unknown: " + s.error().message);
  } else if (auto mem = parse_process_status(buffer_); !mem) {
    r.warnings.push_back("process RSS unknown: " + mem.error().message);
  } else {
    r.process = *mem;
  }

  if (Status s = vmstat_.read(buffer_); !s.ok()) {
    r.warnings.push_back("swap activity unknown: " + s.error().message);
  } else if (auto swap = parse_vmstat_swap(buffer_); !swap) {
    r.warnings.push_back("swap activity unknown: " + swap.error().message);
  } else {
    if (last_swap_) {
      const double seconds = std::chrono::duration<double>(r.taken_at - last_swap_at_).count();
      if (seconds > 0) {
        // Counters only grow; a smaller value means they were reset, which reads as no activity.
        auto rate = [seconds](std::uint64_t now, std::uint64_t before) {
          return now >= before ? static_cast<double>(now - before) / seconds : 0.0;
        };
        r.swap_in_pages_per_second = rate(swap->pages_in, last_swap_->pages_in);
        r.swap_out_pages_per_second = rate(swap->pages_out, last_swap_->pages_out);
      }
    }
    last_swap_ = *swap;
    last_swap_at_ = r.taken_at;
  }

  if (!pressure_absent_) {
    if (Status s = pressure_.read(buffer_); !s.ok()) {
      if (s.error().code == ErrorCode::kNotFound || s.error().code == ErrorCode::kUnsupported) {
        pressure_absent_ = true;
      } else {
        r.warnings.push_back("memory pressure unknown: " + s.error().message);
      }
    } else if (auto psi = parse_pressure(buffer_); !psi) {
      r.warnings.push_back("memory pressure unknown: " + psi.error().message);
    } else {
      r.pressure = *psi;
    }
  }
  return r;
}

}  // namespace pensieve::memory
