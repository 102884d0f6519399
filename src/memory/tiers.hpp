// memory/tiers: turns "bytes available" into a tier (safe, warning, critical, emergency) with
// configurable thresholds and hysteresis, so that a reading hovering at a boundary does not
// make the server flap between accepting and refusing.
#pragma once

#include <cstdint>
#include <optional>

#include "core/result.hpp"
#include "memory/byte_size.hpp"

namespace pensieve::memory {

// Ordered from best to worst; kUnknown sits apart (a failed reading) and compares worst of all
// only where a caller asks for it explicitly.
enum class Tier : std::uint8_t { kSafe = 0, kWarning = 1, kCritical = 2, kEmergency = 3, kUnknown = 4 };
inline constexpr int kTierCount = 5;

const char* to_string(Tier tier);  // "safe", "warning", "critical", "emergency", "unknown"

struct ThresholdConfig {
  // A tier begins when available memory drops *below* its threshold.
  SizeSpec warning_below = SizeSpec::absolute(2 * kGiB);
  SizeSpec critical_below = SizeSpec::absolute(1 * kGiB);
  SizeSpec emergency_below = SizeSpec::absolute(512 * kMiB);
  // To move to a better tier, available memory must clear that tier's threshold by this much.
  SizeSpec hysteresis = SizeSpec::absolute(128 * kMiB);
};

// Thresholds in bytes for one effective total (percent specs resolved).
struct Thresholds {
  std::uint64_t warning_below = 0;
  std::uint64_t critical_below = 0;
  std::uint64_t emergency_below = 0;
  std::uint64_t hysteresis = 0;
};

// Rejects configurations that cannot be ordered (e.g. critical above warning, both absolute).
Status validate(const ThresholdConfig& config);

// Resolves percentages against `effective_total`. Mixed absolute/percent settings that cross
// on a small machine are clamped so that warning ≥ critical ≥ emergency always holds.
Thresholds resolve(const ThresholdConfig& config, std::uint64_t effective_total);

// Tier for a reading without history: safe at or above warning_below, warning at or above
// critical_below, critical at or above emergency_below, emergency below that.
Tier classify(std::uint64_t available, const Thresholds& thresholds);

// Remembers the current tier and applies hysteresis: a worse tier is entered at once; a better one
// only when the reading, less the hysteresis margin, classifies as that better tier. Not
// thread-safe: the sampler thread alone drives it.
class TierTracker {
 public:
  // `available` nullopt means the reading failed: the tier becomes kUnknown.
  Tier update(std::optional<std::uint64_t> available, const Thresholds& thresholds);
  Tier current() const { return current_; }
  // Tier that was current before the last change (for logging a transition).
  Tier previous() const { return previous_; }
  std::uint64_t transitions() const { return transitions_; }

 private:
  Tier current_ = Tier::kUnknown;
  Tier previous_ = Tier::kUnknown;
  Tier last_known_ = Tier::kUnknown;  // hysteresis resumes from here after an unknown spell
  bool started_ = false;
  std::uint64_t transitions_ = 0;
};

}  // namespace pensieve::memory
