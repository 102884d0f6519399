// jinja/text: a string that remembers which of its bytes came from untrusted input.
//
// Rendered prompts are tokenized with special-token parsing on, so text that a user or a tool
// supplied must never turn into a control token. Every string the interpreter handles carries
// the byte ranges that came from untrusted context values; operations that keep bytes intact
// (concatenation, slicing, stripping) keep the ranges exact, and operations that rewrite bytes
// mark their whole result untrusted when any input was (conservative, never lossy).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pensieve::jinja {

using ByteRange = std::pair<std::size_t, std::size_t>;  // [begin, end)

class Text {
 public:
  Text() = default;
  explicit Text(std::string bytes, bool untrusted = false);

  static Text untrusted(std::string bytes) { return Text(std::move(bytes), true); }

  const std::string& str() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  // Sorted, disjoint, non-adjacent, non-empty ranges.
  const std::vector<ByteRange>& untrusted_ranges() const { return untrusted_; }
  bool any_untrusted() const { return !untrusted_.empty(); }

  void append(const Text& other);
  void append_trusted(std::string_view bytes);
  void append_untrusted(std::string_view bytes);
  // Appends `bytes`, untrusted when `untrusted` is set.
  void append(std::string_view bytes, bool untrusted);

  // The bytes [pos, pos + count) with their exact provenance.
  Text substr(std::size_t pos, std::size_t count = std::string::npos) const;
  // A rewritten string derived from this one: untrusted as a whole if any byte here was.
  Text derive(std::string bytes) const { return Text(std::move(bytes), any_untrusted()); }

 private:
  void mark_untrusted(std::size_t begin, std::size_t end);

  std::string bytes_;
  std::vector<ByteRange> untrusted_;
};

}  // namespace pensieve::jinja
