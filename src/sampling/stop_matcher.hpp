// sampling/stop_matcher: finds stop sequences in generated text that arrives in pieces.
//
// A stop sequence may straddle token boundaries, so the matcher holds back the tail of the text
// that could still be the start of a stop sequence and releases it as soon as it cannot be.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::sampling {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stop_sequences);

  // Adds generated text. Appends to `released` whatever is certain not to be part of a stop
  // sequence. When a stop sequence completes, appends the text before it, returns its index in
  // the constructor's list and drops everything after it; later calls then do nothing.
  std::optional<std::size_t> feed(std::string_view text, std::string& released);

  // End of generation: appends the held-back text to `released`.
  void flush(std::string& released);

  bool matched() const { return matched_.has_value(); }
  const std::vector<std::string>& sequences() const { return stops_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  std::optional<std::size_t> matched_;
};

}  // namespace pensieve::sampling
