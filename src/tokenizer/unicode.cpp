#include "tokenizer/unicode.hpp"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>

#include <array>
#include <vector>

#include "core/utf8.hpp"

namespace pensieve::tokenizer {
namespace {

constexpr std::uint32_t kReplacement = 0xFFFD;

std::uint16_t flags_from_icu(std::uint32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  const std::uint32_t mask = U_GET_GC_MASK(c);
  std::uint16_t flags = 0;
  if (mask & U_GC_L_MASK) flags |= kLetter;
  if (mask & U_GC_N_MASK) flags |= kNumber;
  if (mask & U_GC_P_MASK) flags |= kPunctuation;
  if (mask & U_GC_M_MASK) flags |= kMark;
  if (mask & U_GC_S_MASK) flags |= kSymbol;
  if (u_isUWhiteSpace(c)) flags |= kWhitespace;
  if (mask & (U_GC_LU_MASK | U_GC_LT_MASK)) flags |= kUpperCase;
  if (mask & U_GC_LL_MASK) flags |= kLowerCase;
  UErrorCode status = U_ZERO_ERROR;
  if (uscript_getScript(c, &status) == USCRIPT_HAN && U_SUCCESS(status)) flags |= kHan;
  return flags;
}

// The Basic Multilingual Plane covers nearly every character a prompt holds; its categories
// are read from ICU once into a 128 KiB table so the splitters pay one load per character.
const std::array<std::uint16_t, 0x10000>& bmp_flags() {
  static const auto table = [] {
    std::array<std::uint16_t, 0x10000> t{};
    for (std::uint32_t cp = 0; cp < 0x10000; ++cp) t[cp] = flags_from_icu(cp);
    return t;
  }();
  return table;
}

// Length of the longest prefix of [p, end) that is a valid start of a UTF-8 sequence
// (0 when p itself cannot start one); `complete` tells whether that prefix is a whole char.
std::size_t valid_prefix_length(const unsigned char* p, const unsigned char* end, bool& complete) {
  complete = false;
  const unsigned char lead = p[0];
  std::size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the first continuation byte
  if (lead < 0x80) {
    complete = true;
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) lo = 0xA0;  // no overlongs
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  std::size_t i = 1;
  for (; i < need && p + i < end; ++i) {
    const unsigned char b = p[i];
    const unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) return i;
  }
  complete = i == need;
  return i;
}

}  // namespace

Utf8Char decode_utf8(const char* p, const char* end) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  const auto* e = reinterpret_cast<const unsigned char*>(end);
  if (u[0] < 0x80) return {u[0], 1, true};
  bool complete = false;
  const std::size_t n = valid_prefix_length(u, e, complete);
  if (!complete) return {kReplacement, 1, false};
  std::uint32_t cp;
  if (n == 2) {
    cp = (u[0] & 0x1Fu) << 6 | (u[1] & 0x3Fu);
  } else if (n == 3) {
    cp = (u[0] & 0x0Fu) << 12 | (u[1] & 0x3Fu) << 6 | (u[2] & 0x3Fu);
  } else {
    cp = (u[0] & 0x07u) << 18 | (u[1] & 0x3Fu) << 12 | (u[2] & 0x3Fu) << 6 | (u[3] & 0x3Fu);
  }
  return {cp, static_cast<std::uint8_t>(n), true};
}

void append_utf8(std::string& out, std::uint32_t cp) {
  core::append_utf8(out, static_cast<char32_t>(cp));
}

std::uint16_t codepoint_flags(std::uint32_t cp) {
  if (cp < 0x10000) return bmp_flags()[cp];
  if (cp > 0x10FFFF) return 0;
  return flags_from_icu(cp);
}

std::size_t complete_utf8_prefix(std::string_view text) {
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = begin + text.size();
  // Only the last three bytes can start a sequence that the next bytes might complete.
  const std::size_t tail_start = text.size() > 3 ? text.size() - 3 : 0;
  for (std::size_t i = tail_start; i < text.size(); ++i) {
    if ((begin[i] & 0xC0) == 0x80) continue;  // continuation: belongs to an earlier lead
    bool complete = false;
    const std::size_t n = valid_prefix_length(begin + i, end, complete);
    if (!complete && n > 0 && begin + i + n == end) return i;
  }
  return text.size();
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_sanitized_utf8(text, out);
  return out;
}

void append_sanitized_utf8(std::string_view text, std::string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    bool complete = false;
    const std::size_t n = valid_prefix_length(p, end, complete);
    if (complete) {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
    } else {
      append_utf8(out, kReplacement);
      p += n == 0 ? 1 : n;  // one U+FFFD per maximal invalid subpart
    }
  }
}

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    bool complete = false;
    const std::size_t n = valid_prefix_length(p, end, complete);
    if (!complete) return false;
    p += n;
  }
  return true;
}

bool normalize_nfc(std::string_view text, std::string& out) {
  // Below U+0300 every character is NFC-stable and none combines, so text whose bytes all
  // lie below 0xCC (the lead byte of U+0300) is already normalised.
  bool may_change = false;
  for (unsigned char c : text) {
    if (c >= 0xCC) {
      may_change = true;
      break;
    }
  }
  if (!may_change || !is_valid_utf8(text)) return false;

  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* nfc = unorm2_getNFCInstance(&status);
  if (U_FAILURE(status)) return false;

  std::vector<UChar> wide(text.size() + 1);
  std::int32_t wide_len = 0;
  u_strFromUTF8(wide.data(), static_cast<std::int32_t>(wide.size()), &wide_len, text.data(),
                static_cast<std::int32_t>(text.size()), &status);
  if (U_FAILURE(status)) return false;
  if (unorm2_isNormalized(nfc, wide.data(), wide_len, &status) || U_FAILURE(status)) return false;

  // NFC can grow a string (singleton decompositions), so ask for the size first when needed.
  std::vector<UChar> normal(static_cast<std::size_t>(wide_len) * 3 + 16);
  std::int32_t normal_len = unorm2_normalize(nfc, wide.data(), wide_len, normal.data(),
                                             static_cast<std::int32_t>(normal.size()), &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) {
    status = U_ZERO_ERROR;
    normal.resize(static_cast<std::size_t>(normal_len) + 1);
    normal_len = unorm2_normalize(nfc, wide.data(), wide_len, normal.data(),
                                  static_cast<std::int32_t>(normal.size()), &status);
  }
  if (U_FAILURE(status)) return false;

  std::int32_t utf8_len = 0;
  UErrorCode size_status = U_ZERO_ERROR;
  u_strToUTF8(nullptr, 0, &utf8_len, normal.data(), normal_len, &size_status);
  std::string result(static_cast<std::size_t>(utf8_len), '\0');
  u_strToUTF8(result.data(), utf8_len, &utf8_len, normal.data(), normal_len, &status);
  if (U_FAILURE(status)) return false;
  out = std::move(result);
  return true;
}

}  // namespace pensieve::tokenizer
