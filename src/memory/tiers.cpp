#include "memory/tiers.hpp"

#include <algorithm>

namespace pensieve::memory {

const char* to_string(Tier tier) {
  switch (tier) {
    case Tier::kSafe:
      return "safe";
    case Tier::kWarning:
      return "warning";
    case Tier::kCritical:
      return "critical";
    case Tier::kEmergency:
      return "emergency";
    case Tier::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Status validate(const ThresholdConfig& config) {
  const SizeSpec* specs[] = {&config.warning_below, &config.critical_below, &config.emergency_below};
  for (const SizeSpec* spec : specs) {
    if (spec->kind == SizeSpec::Kind::kPercentOfTotal && (spec->percent < 0 || spec->percent > 100)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "memory threshold " + spec->to_string() + " is not 0-100%");
    }
  }
  auto ordered = [](const SizeSpec& higher, const SizeSpec& lower) {
    if (higher.kind != lower.kind) return true;  // only comparable once the total is known; resolve() clamps
    return higher.kind == SizeSpec::Kind::kBytes ? higher.bytes >= lower.bytes
                                                 : higher.percent >= lower.percent;
  };
  if (!ordered(config.warning_below, config.critical_below)) {
    return make_error(ErrorCode::kInvalidArgument, "memory warning threshold (" +
                                                       config.warning_below.to_string() +
                                                       ") must not be below the critical threshold (" +
                                                       config.critical_below.to_string() + ")");
  }
  if (!ordered(config.critical_below, config.emergency_below)) {
    return make_error(ErrorCode::kInvalidArgument, "memory critical threshold (" +
                                                       config.critical_below.to_string() +
                                                       ") must not be below the emergency threshold (" +
                                                       config.emergency_below.to_string() + ")");
  }
  return {};
}

Thresholds resolve(const ThresholdConfig& config, std::uint64_t effective_total) {
  Thresholds t;
  t.warning_below = config.warning_below.resolve(effective_total);
  t.critical_below = std::min(config.critical_below.resolve(effective_total), t.warning_below);
  t.emergency_below = std::min(config.emergency_below.resolve(effective_total), t.critical_below);
  t.hysteresis = config.hysteresis.resolve(effective_total);
  return t;
}

Tier classify(std::uint64_t available, const Thresholds& t) {
  if (available >= t.warning_below) return Tier::kSafe;
  if (available >= t.critical_below) return Tier::kWarning;
  if (available >= t.emergency_below) return Tier::kCritical;
  return Tier::kEmergency;
}

Tier TierTracker::update(std::optional<std::uint64_t> available, const Thresholds& thresholds) {
  Tier next;
  if (!available) {
    next = Tier::kUnknown;
  } else {
    const Tier raw = classify(*available, thresholds);
    if (!started_ || last_known_ == Tier::kUnknown || raw >= last_known_) {
      next = raw;  // first reading, or same/worse: take it at once
    } else {
      // Better than before: only as far as the margin-reduced reading allows.
      const std::uint64_t lowered =
          *available > thresholds.hysteresis ? *available - thresholds.hysteresis : 0;
      next = std::min(last_known_, classify(lowered, thresholds));
    }
    last_known_ = next;
  }
  if (started_ && next != current_) {
    previous_ = current_;
    ++transitions_;
  }
  started_ = true;
  current_ = next;
  return next;
}

}  // namespace pensieve::memory
