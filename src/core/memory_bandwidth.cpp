#include "core/memory_bandwidth.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "core/anonymous_memory.hpp"
#include "core/cpu_features.hpp"
#include "core/memory_read_loops.hpp"

namespace pensieve::core {
namespace {

constexpr std::uint64_t kPageBytes = 4096;
constexpr std::uint64_t kMinDefaultBytes = std::uint64_t{1} << 30;

struct ReadLoop {
  std::uint64_t (*sum)(const std::uint64_t*, std::size_t);
  std::string_view name;
};

// The widest loads the CPU (and OS) allow; see memory_read_loops.hpp for why it matters.
ReadLoop widest_read_loop() {
  const CpuFeatures& cpu = cpu_features();
  if (cpu.avx512f) return {read_loops::sum_avx512, "avx512"};
  if (cpu.avx2) return {read_loops::sum_avx2, "avx2"};
  return {read_loops::sum_portable, "portable"};
}

// "307200K", "2048K", "32M" as in sysfs cache size files.
std::uint64_t parse_cache_size(const std::string& text) {
  std::uint64_t value = 0;
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') value = value * 10 + (text[i++] - '0');
  if (i < text.size() && text[i] == 'K') value *= 1024;
  if (i < text.size() && text[i] == 'M') value *= 1024 * 1024;
  if (i < text.size() && text[i] == 'G') value *= std::uint64_t{1024} * 1024 * 1024;
  return value;
}


}  // namespace

namespace read_loops {

// Sixteen independent sums, which the compiler turns into vector adds of the baseline ISA.
std::uint64_t sum_portable(const std::uint64_t* words, std::size_t n) {
  std::uint64_t lanes[16] = {};
  for (std::size_t i = 0; i < n; i += 16) {
    for (std::size_t j = 0; j < 16; ++j) lanes[j] += words[i + j];
  }
  std::uint64_t total = 0;
  for (std::uint64_t lane : lanes) total += lane;
  return total;
}

}  // namespace read_loops

std::uint64_t last_level_cache_bytes() {
  std::uint64_t largest = 0;
  for (int index = 0; index < 16; ++index) {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
    if (!in) continue;  // indices are dense on Linux, but a gap costs nothing to step over
    std::string text;
    in >> text;
    largest = std::max(largest, parse_cache_size(text));
  }
  return largest;
}

std::uint64_t default_bandwidth_buffer_bytes() {
  const std::uint64_t wanted = std::max(kMinDefaultBytes, 4 * last_level_cache_bytes());
  return std::bit_ceil(wanted);
}

Result<BandwidthProbe> BandwidthProbe::create(ThreadPool& pool, const BandwidthOptions& options) {
  const unsigned threads = pool.size();
  const std::uint64_t requested =
      options.buffer_bytes != 0 ? options.buffer_bytes : default_bandwidth_buffer_bytes();
  // Whole pages per thread: shares are aligned for every read loop, which needs no tail.
  const std::uint64_t share_bytes = requested / threads / kPageBytes * kPageBytes;
  if (share_bytes == 0) {
    return make_error(ErrorCode::kInvalidArgument, "bandwidth buffer of " + std::to_string(requested) +
                                                       " bytes is too small for " + std::to_string(threads) +
                                                       " threads (at least " + std::to_string(kPageBytes) +
                                                       " bytes each)");
  }
  // Huge pages (AnonymousMemory asks for them) spare the read loop a TLB miss every 4 KiB, so the
  // figure is the memory's and not the page walker's.
  auto buffer = AnonymousMemory::allocate(share_bytes * threads);
  if (!buffer) return buffer.error().with_context("bandwidth buffer");
  auto* const data = reinterpret_cast<std::uint64_t*>(buffer->data());
  const std::size_t share_words = share_bytes / sizeof(std::uint64_t);
  // Fault every page in with distinct values, each share by its reader.
  pool.run_on_all([&](unsigned thread, unsigned) {
    std::uint64_t* share = data + std::size_t{thread} * share_words;
    for (std::size_t i = 0; i < share_words; ++i) share[i] = i ^ thread;
  });
  return BandwidthProbe(pool, std::move(*buffer), share_bytes);
}

BandwidthProbe::BandwidthProbe(ThreadPool& pool, AnonymousMemory buffer, std::uint64_t share_bytes)
    : pool_(&pool), buffer_(std::move(buffer)), share_bytes_(share_bytes) {}

Result<BandwidthResult> BandwidthProbe::measure(unsigned passes) {
  if (passes == 0) return make_error(ErrorCode::kInvalidArgument, "at least one pass is needed");
  const unsigned threads = pool_->size();
  const std::uint64_t total_bytes = share_bytes_ * threads;
  const std::size_t share_words = share_bytes_ / sizeof(std::uint64_t);
  const auto* const data = reinterpret_cast<const std::uint64_t*>(buffer_.data());
  const ReadLoop read = widest_read_loop();
  std::vector<std::uint64_t> sums(threads);
  BandwidthResult result;
  result.buffer_bytes = total_bytes;
  result.threads = threads;
  result.passes = passes;
  result.read_loop = read.name;
  double best_seconds = 0;
  double worst_seconds = 0;
  for (unsigned pass = 0; pass < passes; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    pool_->run_on_all([&](unsigned thread, unsigned) {
      sums[thread] += read.sum(data + std::size_t{thread} * share_words, share_words);
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (pass == 0 || seconds < best_seconds) best_seconds = seconds;
    worst_seconds = std::max(worst_seconds, seconds);
  }
  // The sums must be used or the reads could be dropped.
  volatile std::uint64_t sink = 0;
  for (std::uint64_t s : sums) sink = sink + s;
  if (best_seconds <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "bandwidth buffer of " + std::to_string(total_bytes) +
                                                       " bytes is read too fast to time; use a larger one");
  }
  result.bytes_per_second = static_cast<double>(total_bytes) / best_seconds;
  result.worst_bytes_per_second = static_cast<double>(total_bytes) / worst_seconds;
  return result;
}

Result<BandwidthResult> measure_read_bandwidth(ThreadPool& pool, const BandwidthOptions& options) {
  if (options.passes == 0) return make_error(ErrorCode::kInvalidArgument, "at least one pass is needed");
  auto probe = BandwidthProbe::create(pool, options);
  if (!probe) return probe.error();
  return probe->measure(options.passes);
}

}  // namespace pensieve::core
