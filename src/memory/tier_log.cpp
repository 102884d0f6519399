#include "memory/tier_log.hpp"

#include "memory/byte_size.hpp"

namespace pensieve::memory {

void TierLog::on_reading(const MemorySnapshot& s) {
  if (!log_) return;
  const std::string now_warning = s.reading.warnings.empty() ? std::string() : s.reading.warnings.front();
  if (first_ || s.tier != tier_) {
    std::string line =
        "memory: " + std::string(first_ ? "" : std::string(to_string(tier_)) + " -> ") + to_string(s.tier);
    if (s.reading.available_known) {
      line += ", " + format_bytes(s.reading.available_bytes) + " available of " +
              format_bytes(s.reading.total_bytes);
    }
    if (!now_warning.empty()) line += " (" + now_warning + ")";
    log_(line);
  } else if (!now_warning.empty() && now_warning != warning_) {
    log_("memory: " + now_warning);
  }
  first_ = false;
  tier_ = s.tier;
  warning_ = now_warning;
}

}  // namespace pensieve::memory
