// tokenizer/unicode: the few Unicode facts the tokenizers need — UTF-8 decoding that never fails
// (an invalid byte stands for itself), the general categories the pre-tokenizer regexes ask
// about (\p{L}, \p{N}, \p{P}, \s) for every script, and NFC normalisation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pensieve::tokenizer {

// One decoded character. An invalid or truncated sequence yields valid=false, length 1 and
// cp = 0xFFFD, so callers can step over any byte string and still keep the original bytes.
struct Utf8Char {
  std::uint32_t cp = 0;
  std::uint8_t length = 1;
  bool valid = false;
};

Utf8Char decode_utf8(const char* p, const char* end);

// Bytes a sequence starting with `lead` claims to have (1 for a stray continuation byte).
inline std::size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

void append_utf8(std::string& out, std::uint32_t cp);

// Category bits; a character has at most one of letter/number/punctuation/mark/symbol, and
// whitespace is the Unicode White_Space property (what \s means in the tokenizers' regexes).
// The case bits refine kLetter for the regexes that split words at case changes (o200k and its
// kin): a letter with neither is \p{Lm} or \p{Lo}. kHan is the script, which Kimi K2 splits apart.
enum CodepointFlag : std::uint16_t {
  kLetter = 1 << 0,       // \p{L}
  kNumber = 1 << 1,       // \p{N}
  kPunctuation = 1 << 2,  // \p{P}
  kMark = 1 << 3,         // \p{M}
  kSymbol = 1 << 4,       // \p{S}
  kWhitespace = 1 << 5,   // \s
  kUpperCase = 1 << 6,    // \p{Lu} or \p{Lt}
  kLowerCase = 1 << 7,    // \p{Ll}
  kHan = 1 << 8,          // \p{Han} (Script=Han)
};

std::uint16_t codepoint_flags(std::uint32_t cp);

// How many leading bytes of `text` are a complete, valid UTF-8 prefix, with a trailing
// sequence that is valid so far but cut short left out. Invalid bytes count as complete.
std::size_t complete_utf8_prefix(std::string_view text);

// Copies `text`, replacing each maximal invalid subpart with U+FFFD.
std::string sanitize_utf8(std::string_view text);
void append_sanitized_utf8(std::string_view text, std::string& out);

bool is_valid_utf8(std::string_view text);

// NFC-normalises valid UTF-8 text into `out`; returns false (and leaves out untouched) when
// the text is already NFC or is not valid UTF-8, so callers keep their original bytes.
bool normalize_nfc(std::string_view text, std::string& out);

}  // namespace pensieve::tokenizer
