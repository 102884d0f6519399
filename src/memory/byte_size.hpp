// memory/byte_size: sizes as people write them on a command line ("2GiB", "512M", "10%") and
// as we print them back ("1.50 GiB"), shared by thresholds, estimates and messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace pensieve::memory {

inline constexpr std::uint64_t kKiB = 1024;
inline constexpr std::uint64_t kMiB = 1024 * kKiB;
inline constexpr std::uint64_t kGiB = 1024 * kMiB;

// A size given either in bytes or as a percentage of the effective total memory.
struct SizeSpec {
  enum class Kind { kBytes, kPercentOfTotal };
  Kind kind = Kind::kBytes;
  std::uint64_t bytes = 0;
  double percent = 0.0;

  static SizeSpec absolute(std::uint64_t bytes) { return {Kind::kBytes, bytes, 0.0}; }
  static SizeSpec percent_of_total(double percent) { return {Kind::kPercentOfTotal, 0, percent}; }

  std::uint64_t resolve(std::uint64_t total_bytes) const;
  std::string to_string() const;
};

// Accepts "1073741824", "512MiB", "512M", "2GiB", "2G", "1.5GB", "64KiB", "10%". Binary units
// throughout (a user writing "2G" for memory means GiB); "%" is a share of the effective total.
Result<SizeSpec> parse_size_spec(std::string_view text);

// Plain byte count only (no percent), same unit rules.
Result<std::uint64_t> parse_byte_size(std::string_view text);

// "1.50 GiB" / "312.0 MiB" / "800 B": for messages a person reads.
std::string format_bytes(std::uint64_t bytes);

// Bytes as GiB with two decimals, for the x-available-memory-gb header and JSON numbers.
double to_gib(std::uint64_t bytes);

}  // namespace pensieve::memory
