#include "tokenizer/codepoint_text.hpp"

#include <array>

namespace pensieve::tokenizer {
namespace {

// ASCII dominates prompts (English, code, JSON); its categories are fixed facts of Unicode.
constexpr std::array<std::uint16_t, 128> kAsciiFlags = [] {
  std::array<std::uint16_t, 128> t{};
  for (int c = 0; c < 128; ++c) {
    std::uint16_t f = 0;
    if (c >= 'A' && c <= 'Z') {
      f = kLetter | kUpperCase;
    } else if (c >= 'a' && c <= 'z') {
      f = kLetter | kLowerCase;
    } else if (c >= '0' && c <= '9') {
      f = kNumber;
    } else if (c == ' ' || (c >= '\t' && c <= '\r')) {
      f = kWhitespace;
    } else if (c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '`' || c == '|' ||
               c == '~') {
      f = kSymbol;
    } else if (c > ' ' && c < 127) {
      f = kPunctuation;
    }
    t[static_cast<std::size_t>(c)] = f;
  }
  return t;
}();

}  // namespace

void CodepointText::assign(std::string_view text) {
  cps_.clear();
  flags_.clear();
  offsets_.clear();
  cps_.reserve(text.size());
  flags_.reserve(text.size());
  offsets_.reserve(text.size() + 1);
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    offsets_.push_back(static_cast<std::uint32_t>(p - text.data()));
    const auto byte = static_cast<unsigned char>(*p);
    if (byte < 0x80) {
      cps_.push_back(byte);
      flags_.push_back(kAsciiFlags[byte]);
      ++p;
      continue;
    }
    const Utf8Char ch = decode_utf8(p, end);
    cps_.push_back(ch.cp);
    flags_.push_back(ch.valid ? codepoint_flags(ch.cp) : 0);
    p += ch.length;
  }
  offsets_.push_back(static_cast<std::uint32_t>(text.size()));
}

}  // namespace pensieve::tokenizer
