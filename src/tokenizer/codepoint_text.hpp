// tokenizer/codepoint_text: a text decoded once into code points with their category flags and
// byte offsets, which the pre-tokenizer rules scan by index (they need look-ahead and a step back).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/unicode.hpp"

namespace pensieve::tokenizer {

class CodepointText {
 public:
  // Decodes `text`; an invalid byte becomes one U+FFFD entry that still spans that one byte.
  void assign(std::string_view text);

  std::size_t size() const { return cps_.size(); }
  std::uint32_t cp(std::size_t i) const { return cps_[i]; }
  std::uint16_t flags(std::size_t i) const { return flags_[i]; }
  // Byte offset of code point i in the text; offset(size()) is the text length.
  std::uint32_t offset(std::size_t i) const { return offsets_[i]; }

  bool is_letter(std::size_t i) const { return flags_[i] & kLetter; }
  bool is_number(std::size_t i) const { return flags_[i] & kNumber; }
  bool is_space(std::size_t i) const { return flags_[i] & kWhitespace; }
  bool is_punctuation(std::size_t i) const { return flags_[i] & kPunctuation; }
  bool is_symbol(std::size_t i) const { return flags_[i] & kSymbol; }
  bool is_mark(std::size_t i) const { return flags_[i] & kMark; }
  bool is_upper_case(std::size_t i) const { return flags_[i] & kUpperCase; }
  bool is_lower_case(std::size_t i) const { return flags_[i] & kLowerCase; }
  bool is_han(std::size_t i) const { return flags_[i] & kHan; }
  // [^\s\p{L}\p{N}]
  bool is_other(std::size_t i) const { return !(flags_[i] & (kWhitespace | kLetter | kNumber)); }
  bool is_newline(std::size_t i) const { return cps_[i] == '\r' || cps_[i] == '\n'; }

 private:
  std::vector<std::uint32_t> cps_;
  std::vector<std::uint16_t> flags_;
  std::vector<std::uint32_t> offsets_;
};

}  // namespace pensieve::tokenizer
