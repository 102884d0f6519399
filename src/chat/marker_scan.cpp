#include "chat/marker_scan.hpp"

#include <algorithm>

namespace pensieve::chat {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t trailing_blanks(std::string_view text) {
  size_t n = 0;
  while (n < text.size() && is_blank(text[text.size() - 1 - n])) ++n;
  return n;
}

std::string_view trim_blanks(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

MarkerHit find_first_marker(std::string_view text, std::span<const Marker> markers) {
  MarkerHit hit;
  for (const Marker& marker : markers) {
    const size_t at = text.find(marker.text);
    if (at == std::string_view::npos) continue;
    if (hit.marker == nullptr || at < hit.at ||
        (at == hit.at && marker.text.size() > hit.marker->text.size())) {
      hit = {&marker, at};
    }
  }
  return hit;
}

size_t partial_marker_tail(std::string_view text, std::string_view marker) {
  const size_t longest = std::min(text.size(), marker.size() - 1);
  for (size_t k = longest; k > 0; --k) {
    if (text.substr(text.size() - k) == marker.substr(0, k)) return k;
  }
  return 0;
}

size_t partial_marker_tail(std::string_view text, std::span<const Marker> markers) {
  size_t tail = 0;
  for (const Marker& marker : markers) tail = std::max(tail, partial_marker_tail(text, marker.text));
  return tail;
}

size_t releasable(std::string_view text, std::span<const Marker> markers, bool at_end) {
  return at_end ? text.size() : text.size() - partial_marker_tail(text, markers);
}

Expect expect_literal(std::string_view input, size_t& at, std::string_view literal, bool skip_blanks) {
  size_t i = at;
  if (skip_blanks) {
    while (i < input.size() && is_blank(input[i])) ++i;
  }
  const std::string_view rest = input.substr(std::min(i, input.size()));
  if (rest.starts_with(literal)) {
    at = i + literal.size();
    return Expect::kFound;
  }
  if (literal.starts_with(rest)) return Expect::kPartial;
  return Expect::kAbsent;
}

size_t find_marker(std::string_view input, size_t from, std::string_view marker, size_t& safe_end) {
  const size_t at = input.find(marker, from);
  if (at != std::string_view::npos) {
    safe_end = at;
    return at;
  }
  safe_end = input.size() - partial_marker_tail(input.substr(from), marker);
  return std::string_view::npos;
}

bool read_until(std::string_view input, size_t& consumed, std::string_view end_marker, std::string& field) {
  size_t safe_end = 0;
  const size_t at = find_marker(input, consumed, end_marker, safe_end);
  const size_t end = at == std::string_view::npos ? safe_end : at;
  field.append(input.substr(consumed, end - consumed));
  consumed = end;
  if (at == std::string_view::npos) return false;
  consumed += end_marker.size();
  return true;
}

}  // namespace pensieve::chat
