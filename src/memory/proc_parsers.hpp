// memory/proc_parsers: pure parsers for the kernel's text files we sample (/proc/meminfo,
// /proc/self/status, /proc/vmstat, /proc/pressure/memory). They take the text, not a path, so
// tests feed them exact bytes and the sampler decides how files are read.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/result.hpp"

namespace pensieve::memory {

struct HostMemInfo {
  std::uint64_t total_bytes = 0;  // MemTotal
  std::uint64_t available_bytes =
      0;  // MemAvailable: the kernel's own estimate of what can be had without swapping
  std::uint64_t swap_total_bytes = 0;
  std::uint64_t swap_free_bytes = 0;
};

// Needs MemTotal and MemAvailable; a file without them is an error, never a guess.
Result<HostMemInfo> parse_meminfo(std::string_view text);

struct ProcessMemory {
  std::uint64_t rss_bytes = 0;        // VmRSS
  // RssAnon: heap, KV cache, scratch, and the weights' load-time copies (model/weight_copies.hpp)
  std::uint64_t rss_anon_bytes = 0;
  // RssFile: weights still read from the mapped file (all of them with the reference kernels;
  // an untied token embedding with the fast ones)
  std::uint64_t rss_file_bytes = 0;
  std::uint64_t rss_shmem_bytes = 0;  // RssShmem
};

// From /proc/<pid>/status; needs VmRSS, RssAnon and RssFile (Linux 4.5+).
Result<ProcessMemory> parse_process_status(std::string_view text);

struct SwapCounters {
  std::uint64_t pages_in = 0;   // pswpin, cumulative since boot
  std::uint64_t pages_out = 0;  // pswpout
};

Result<SwapCounters> parse_vmstat_swap(std::string_view text);

struct PressureStall {
  double some_avg10 = 0;  // % of the last 10 s in which at least one task stalled on memory
  double some_avg60 = 0;
  double full_avg10 = 0;  // % in which all non-idle tasks stalled
};

// /proc/pressure/memory; the "full" line is optional (absent on old kernels).
Result<PressureStall> parse_pressure(std::string_view text);

// Value of "Key:   1234 kB" in a /proc key-value file, in bytes; nullopt when the key is absent.
std::optional<std::uint64_t> find_kb_field(std::string_view text, std::string_view key);

}  // namespace pensieve::memory
