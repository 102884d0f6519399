// chat/marker_scan: finding a family's markers ("<tool_call>", "<|end|>", ...) in text that arrives
// in pieces. A marker may be cut between two chunks, so each scan says what it found and how much
// of the text is surely not the start of one; the stream parsers hold back the rest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pensieve::chat {

struct Marker {
  std::string_view text;
  int opener;  // what the marker means to the parser that lists it
};

// The earliest marker found in a text; where two begin at the same place, the longer one.
struct MarkerHit {
  const Marker* marker = nullptr;  // null: no marker is complete in the text
  size_t at = 0;
};
MarkerHit find_first_marker(std::string_view text, std::span<const Marker> markers);

// Longest tail of `text` that is a proper prefix of one of the markers.
size_t partial_marker_tail(std::string_view text, std::span<const Marker> markers);
size_t partial_marker_tail(std::string_view text, std::string_view marker);

// How much of `text`, in which no marker is complete, can go out now: all of it at the end,
// otherwise all but a tail that could still become a marker.
size_t releasable(std::string_view text, std::span<const Marker> markers, bool at_end);

// For body parsers: skips blanks from `at`, then looks for `literal` there.
enum class Expect : std::uint8_t { kFound, kPartial, kAbsent };
Expect expect_literal(std::string_view input, size_t& at, std::string_view literal, bool skip_blanks = true);

// For body parsers: finds `marker` in input[from, …). When absent, `safe_end` is where a partial
// marker could begin (text before it surely belongs to the field being read).
size_t find_marker(std::string_view input, size_t from, std::string_view marker, size_t& safe_end);

// For body parsers: appends input[consumed, …) up to `end_marker` to `field`, consuming it, and
// then the marker itself when it is there (true). A tail that could begin the marker is left.
bool read_until(std::string_view input, size_t& consumed, std::string_view end_marker, std::string& field);

// Blanks are the ASCII whitespace templates write around markup: space, tab, CR, LF.
bool is_blank(char c);
size_t trailing_blanks(std::string_view text);
std::string_view trim_blanks(std::string_view text);

}  // namespace pensieve::chat
