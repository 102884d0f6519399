#include "jinja/strings.hpp"

#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include <cstdio>
#include <vector>

#include "core/utf8.hpp"

namespace pensieve::jinja {

char32_t decode_at(std::string_view s, std::size_t i, std::size_t& length) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  auto at = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  if (b0 >= 0xC0 && b0 < 0xE0 && cont(1)) {
    length = 2;
    return (static_cast<char32_t>(b0 & 0x1F) << 6) | at(1);
  }
  if (b0 >= 0xE0 && b0 < 0xF0 && cont(1) && cont(2)) {
    length = 3;
    return (static_cast<char32_t>(b0 & 0x0F) << 12) | (at(1) << 6) | at(2);
  }
  if (b0 >= 0xF0 && b0 < 0xF8 && cont(1) && cont(2) && cont(3)) {
    length = 4;
    return (static_cast<char32_t>(b0 & 0x07) << 18) | (at(1) << 12) | (at(2) << 6) | at(3);
  }
  length = 1;
  return b0;
}

void append_hex_escape(std::string& out, const char* prefix, unsigned value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%0*x", digits, value);
  out += prefix;
  out += buf;
}

void append_code_point(std::string& out, char32_t c) {
  core::append_utf8(out, c);
}

bool is_python_space(char32_t c) {
  if (c == U' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) || c == 0x85) return true;
  if (c < 0x80) return false;
  return u_charType(static_cast<UChar32>(c)) == U_SPACE_SEPARATOR || c == 0x2028 || c == 0x2029;
}

namespace {

std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = 1;
    out.push_back(decode_at(s, i, len));
    i += len;
  }
  return out;
}

template <typename Map>
std::string map_code_points(std::string_view s, Map map) {
  std::string out;
  out.reserve(s.size());
  std::size_t index = 0;
  for (std::size_t i = 0; i < s.size(); ++index) {
    std::size_t len = 1;
    const char32_t c = decode_at(s, i, len);
    if (len == 1 && c >= 0x80) {
      out += s[i];  // not valid UTF-8: leave the byte alone
    } else {
      append_code_point(out, map(c, index));
    }
    i += len;
  }
  return out;
}

char32_t upper(char32_t c) {
  return static_cast<char32_t>(u_toupper(static_cast<UChar32>(c)));
}
char32_t lower(char32_t c) {
  return static_cast<char32_t>(u_tolower(static_cast<UChar32>(c)));
}
char32_t titlecase(char32_t c) {
  return static_cast<char32_t>(u_totitle(static_cast<UChar32>(c)));
}
bool cased_letter(char32_t c) {
  return u_isalpha(static_cast<UChar32>(c));
}

}  // namespace

Text strip(const Text& s, StripSide side, const std::string* chars) {
  const std::string& b = s.str();
  std::vector<char32_t> set;
  if (chars) set = code_points(*chars);
  auto strippable = [&](char32_t c) {
    if (!chars) return is_python_space(c);
    for (char32_t x : set) {
      if (x == c) return true;
    }
    return false;
  };
  // Code point boundaries, so stripping never splits a character.
  std::vector<std::size_t> starts;
  std::vector<char32_t> cps;
  for (std::size_t i = 0; i < b.size();) {
    std::size_t len = 1;
    cps.push_back(decode_at(b, i, len));
    starts.push_back(i);
    i += len;
  }
  std::size_t first = 0;
  std::size_t last = cps.size();
  if (side != StripSide::kRight) {
    while (first < last && strippable(cps[first])) ++first;
  }
  if (side != StripSide::kLeft) {
    while (last > first && strippable(cps[last - 1])) --last;
  }
  const std::size_t begin = first < starts.size() ? starts[first] : b.size();
  const std::size_t end = last < starts.size() ? starts[last] : b.size();
  return s.substr(begin, end - begin);
}

std::vector<Text> split(const Text& s, const std::string* sep, long long maxsplit) {
  const std::string& b = s.str();
  std::vector<Text> out;
  if (sep) {
    std::size_t pos = 0;
    long long splits = 0;
    while (maxsplit < 0 || splits < maxsplit) {
      const std::size_t hit = b.find(*sep, pos);
      if (hit == std::string::npos) break;
      out.push_back(s.substr(pos, hit - pos));
      pos = hit + sep->size();
      ++splits;
    }
    out.push_back(s.substr(pos));
    return out;
  }
  std::size_t i = 0;
  long long splits = 0;
  auto space_at = [&](std::size_t at, std::size_t& len) { return is_python_space(decode_at(b, at, len)); };
  while (i < b.size()) {
    std::size_t len = 1;
    while (i < b.size() && space_at(i, len)) i += len;
    if (i >= b.size()) break;
    if (maxsplit >= 0 && splits >= maxsplit) {
      // The remainder, with trailing whitespace stripped, is the last piece.
      out.push_back(strip(s.substr(i), StripSide::kRight, nullptr));
      return out;
    }
    const std::size_t start = i;
    while (i < b.size() && !space_at(i, len)) i += len;
    out.push_back(s.substr(start, i - start));
    ++splits;
  }
  return out;
}

Text replace(const Text& s, const std::string& old_value, const Text& new_value, long long count) {
  const std::string& b = s.str();
  Text out;
  if (old_value.empty()) {
    // Python inserts the replacement before every character and at the end.
    long long done = 0;
    for (std::size_t i = 0;;) {
      if (count < 0 || done < count) {
        out.append(new_value);
        ++done;
      }
      if (i >= b.size()) break;
      std::size_t len = 1;
      decode_at(b, i, len);
      out.append(s.substr(i, len));
      i += len;
    }
    return out;
  }
  std::size_t pos = 0;
  long long done = 0;
  while (count < 0 || done < count) {
    const std::size_t hit = b.find(old_value, pos);
    if (hit == std::string::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(new_value);
    pos = hit + old_value.size();
    ++done;
  }
  out.append(s.substr(pos));
  return out;
}

namespace {

// Full Unicode case mapping (e.g. "ß" upper-cases to "SS"), as Python's str.upper does.
template <typename Convert>
std::string full_case_map(std::string_view s, Convert convert, char32_t (*fallback)(char32_t)) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t utf16_length = 0;
  u_strFromUTF8WithSub(nullptr, 0, &utf16_length, s.data(), static_cast<int32_t>(s.size()), 0xFFFD, nullptr,
                       &status);
  status = U_ZERO_ERROR;
  std::vector<UChar> utf16(static_cast<std::size_t>(utf16_length) + 1);
  u_strFromUTF8WithSub(utf16.data(), static_cast<int32_t>(utf16.size()), &utf16_length, s.data(),
                       static_cast<int32_t>(s.size()), 0xFFFD, nullptr, &status);
  if (U_FAILURE(status) || s.size() > (1u << 28)) {
    return map_code_points(s, [fallback](char32_t c, std::size_t) { return fallback(c); });
  }
  std::vector<UChar> mapped(utf16.size() * 3 + 8);
  status = U_ZERO_ERROR;
  const int32_t mapped_length =
      convert(mapped.data(), static_cast<int32_t>(mapped.size()), utf16.data(), utf16_length, "", &status);
  int32_t utf8_length = 0;
  if (U_SUCCESS(status)) {
    u_strToUTF8(nullptr, 0, &utf8_length, mapped.data(), mapped_length, &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) status = U_ZERO_ERROR;
  }
  if (U_FAILURE(status))
    return map_code_points(s, [fallback](char32_t c, std::size_t) { return fallback(c); });
  std::string out(static_cast<std::size_t>(utf8_length), '\0');
  u_strToUTF8(out.data(), utf8_length, &utf8_length, mapped.data(), mapped_length, &status);
  return out;
}

}  // namespace

std::string to_upper(std::string_view s) {
  return full_case_map(s, u_strToUpper, upper);
}

std::string to_lower(std::string_view s) {
  return full_case_map(s, u_strToLower, lower);
}

std::string capitalize(std::string_view s) {
  return map_code_points(s, [](char32_t c, std::size_t i) { return i == 0 ? titlecase(c) : lower(c); });
}

std::string python_title(std::string_view s) {
  bool previous_cased = false;
  return map_code_points(s, [&](char32_t c, std::size_t) {
    const char32_t out = previous_cased ? lower(c) : titlecase(c);
    previous_cased = cased_letter(c);
    return out;
  });
}

std::string jinja_title(std::string_view s) {
  bool word_start = true;
  return map_code_points(s, [&](char32_t c, std::size_t) {
    const bool separator =
        is_python_space(c) || c == U'-' || c == U'(' || c == U'{' || c == U'[' || c == U'<';
    const char32_t out = separator ? c : (word_start ? upper(c) : lower(c));
    word_start = separator;
    return out;
  });
}

}  // namespace pensieve::jinja
