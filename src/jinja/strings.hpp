// jinja/strings: the Python str behaviour templates rely on (whitespace, case, strip,
// split), over UTF-8 text with provenance.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "jinja/text.hpp"

namespace pensieve::jinja {

// str.isspace for one code point.
bool is_python_space(char32_t c);

enum class StripSide { kLeft, kRight, kBoth };
// str.strip / lstrip / rstrip; `chars` null strips whitespace. Keeps exact provenance.
Text strip(const Text& s, StripSide side, const std::string* chars);
// str.split(sep, maxsplit); `sep` null splits on whitespace runs. Pieces keep provenance.
std::vector<Text> split(const Text& s, const std::string* sep, long long maxsplit);
// str.replace(old, new, count); count < 0 replaces all.
Text replace(const Text& s, const std::string& old_value, const Text& new_value, long long count);

std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
// str.capitalize: first code point upper, the rest lower.
std::string capitalize(std::string_view s);
// str.title: each run of letters starts upper, continues lower.
std::string python_title(std::string_view s);
// Jinja's |title filter: words are split at whitespace and -({[<, not at every non-letter.
std::string jinja_title(std::string_view s);

// One UTF-8 sequence at s[i]; an invalid byte decodes as itself with length 1.
char32_t decode_at(std::string_view s, std::size_t i, std::size_t& length);
// Appends prefix + `value` as `digits` lower-case hex digits ("\\u00e9").
void append_hex_escape(std::string& out, const char* prefix, unsigned value, int digits);
void append_code_point(std::string& out, char32_t c);

}  // namespace pensieve::jinja
