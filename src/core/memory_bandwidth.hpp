// core/memory_bandwidth: how fast this machine streams memory into the cores, the ceiling for
// decoding (each generated token reads every weight once). Kernel and decode speeds are reported
// as a fraction of this figure, so it has to be a read of DRAM, not of a cache or the zero page.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/anonymous_memory.hpp"
#include "core/result.hpp"
#include "core/thread_pool.hpp"

namespace pensieve::core {

struct BandwidthOptions {
  std::uint64_t buffer_bytes = 0;  // 0: default_bandwidth_buffer_bytes()
  unsigned passes = 5;             // timed passes over the buffer; the best one counts
};

struct BandwidthResult {
  double bytes_per_second = 0;  // best pass
  double worst_bytes_per_second = 0;
  std::uint64_t buffer_bytes = 0;  // as read: rounded down to whole cache lines per thread
  unsigned threads = 0;
  unsigned passes = 0;
  std::string_view read_loop;  // "avx512", "avx2" or "portable": the widest the CPU allows
};

// Size of the largest cache in /sys/devices/system/cpu/cpu0/cache/index*/size; 0 when unknown.
std::uint64_t last_level_cache_bytes();

// At least 1 GiB and at least 4× the last-level cache, rounded up to a power of two, so what a
// pass reads is almost all evicted before the next pass comes back to it.
std::uint64_t default_bandwidth_buffer_bytes();

// Every thread of `pool` reads its own contiguous share of one buffer; a pass lasts from the
// start of the region until the last thread finishes. The buffer is written (by the thread that
// will read each share, so its pages are local) before any timing: untouched anonymous pages all
// map the one zero page, which would be read from cache.
Result<BandwidthResult> measure_read_bandwidth(ThreadPool& pool, const BandwidthOptions& options = {});

// The same buffer, kept for measuring again and again: on a machine whose bandwidth wanders (a
// shared host), a decode run is compared with readings taken just before and after it.
class BandwidthProbe {
 public:
  // Allocates and writes the buffer (options.passes is not used here).
  static Result<BandwidthProbe> create(ThreadPool& pool, const BandwidthOptions& options = {});
  // `passes` timed passes over the buffer (at least one); the best counts.
  Result<BandwidthResult> measure(unsigned passes);

 private:
  BandwidthProbe(ThreadPool& pool, AnonymousMemory buffer, std::uint64_t share_bytes);
  ThreadPool* pool_;
  AnonymousMemory buffer_;
  std::uint64_t share_bytes_;
};

}  // namespace pensieve::core
