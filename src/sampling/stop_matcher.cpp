#include "sampling/stop_matcher.hpp"

#include <algorithm>

namespace pensieve::sampling {

StopMatcher::StopMatcher(std::vector<std::string> stop_sequences) : stops_(std::move(stop_sequences)) {}

std::optional<std::size_t> StopMatcher::feed(std::string_view text, std::string& released) {
  if (matched_) return std::nullopt;
  bool any = false;
  for (const auto& s : stops_) any = any || !s.empty();
  if (!any) {
    released.append(text);
    return std::nullopt;
  }
  pending_.append(text);

  // The earliest completed stop sequence wins; among those starting at the same byte, the first.
  std::size_t best_pos = std::string::npos;
  std::size_t best_index = 0;
  for (std::size_t i = 0; i < stops_.size(); ++i) {
    if (stops_[i].empty()) continue;
    const std::size_t pos = pending_.find(stops_[i]);
    if (pos < best_pos) {
      best_pos = pos;
      best_index = i;
    }
  }
  if (best_pos != std::string::npos) {
    released.append(pending_, 0, best_pos);
    pending_.clear();
    matched_ = best_index;
    return matched_;
  }

  // Hold back the longest tail of pending_ that is a proper prefix of some stop sequence.
  std::size_t hold = 0;
  for (const auto& s : stops_) {
    const std::size_t max_len = std::min(s.size() - (s.empty() ? 0 : 1), pending_.size());
    for (std::size_t len = max_len; len > hold; --len) {
      if (std::string_view(pending_).substr(pending_.size() - len) == std::string_view(s).substr(0, len)) {
        hold = len;
        break;
      }
    }
  }
  released.append(pending_, 0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return std::nullopt;
}

void StopMatcher::flush(std::string& released) {
  released.append(pending_);
  pending_.clear();
}

}  // namespace pensieve::sampling
