// The Unicode layer: strict UTF-8 decoding, hold-back and repair of incomplete sequences,
// general categories across scripts (what \p{L}, \p{N}, \p{P} and \s mean), and NFC.
#include "tokenizer/unicode.hpp"

#include <gtest/gtest.h>

namespace pensieve::tokenizer {
namespace {

Utf8Char decode(std::string_view s) { return decode_utf8(s.data(), s.data() + s.size()); }

TEST(Unicode, DecodesValidSequencesOfEveryLength) {
  EXPECT_EQ(decode("A").cp, 0x41u);
  EXPECT_EQ(decode("\xC3\xA9").cp, 0xE9u);
  EXPECT_EQ(decode("\xE4\xB8\xAD").cp, 0x4E2Du);
  const Utf8Char llama = decode("\xF0\x9F\xA6\x99");
  EXPECT_TRUE(llama.valid);
  EXPECT_EQ(llama.cp, 0x1F999u);
  EXPECT_EQ(llama.length, 4);
}

TEST(Unicode, RejectsOverlongsSurrogatesAndTruncation) {
  for (std::string_view bad : {std::string_view("\xC0\x80"), std::string_view("\xE0\x80\x80"),
                               std::string_view("\xED\xA0\x80"), std::string_view("\xF4\x90\x80\x80"),
                               std::string_view("\xE4\xB8"), std::string_view("\x80"), std::string_view("\xFF")}) {
    const Utf8Char ch = decode(bad);
    EXPECT_FALSE(ch.valid);
    EXPECT_EQ(ch.length, 1);
  }
}

TEST(Unicode, CompletePrefixHoldsBackOnlyAnUnfinishedCharacter) {
  EXPECT_EQ(complete_utf8_prefix("abc"), 3u);
  EXPECT_EQ(complete_utf8_prefix("ab\xE4\xB8"), 2u);
  EXPECT_EQ(complete_utf8_prefix("\xF0\x9F\xA6"), 0u);
  EXPECT_EQ(complete_utf8_prefix("\xF0\x9F\xA6\x99"), 4u);
  EXPECT_EQ(complete_utf8_prefix("a\xE4" "b"), 3u);  // already broken: nothing to wait for
  EXPECT_EQ(complete_utf8_prefix("a\x80"), 2u);
}

TEST(Unicode, SanitiseReplacesEachMaximalInvalidSubpart) {
  EXPECT_EQ(sanitize_utf8("ok"), "ok");
  EXPECT_EQ(sanitize_utf8("a\xE4\xB8" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(sanitize_utf8("\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\xA6"), "\xEF\xBF\xBD");
}

TEST(Unicode, CategoriesHoldForEveryScript) {
  auto flags = [](std::uint32_t cp) { return codepoint_flags(cp); };
  // Category alone, without the case and script refinements.
  auto category = [](std::uint32_t cp) { return codepoint_flags(cp) & ~(kUpperCase | kLowerCase | kHan); };
  for (std::uint32_t letter : {0x41u, 0xE9u, 0x436u, 0x4E2Du, 0xE01u, 0x915u, 0x627u, 0xAC00u, 0x1D400u, 0x10400u}) {
    EXPECT_EQ(category(letter), kLetter) << std::hex << letter;
  }
  for (std::uint32_t mark : {0x93Fu, 0x94Du, 0x301u, 0xE34u}) EXPECT_EQ(flags(mark), kMark) << std::hex << mark;
  for (std::uint32_t number : {0x37u, 0x663u, 0xBDu, 0x2167u, 0xFF11u, 0x1D7CEu}) {
    EXPECT_EQ(flags(number), kNumber) << std::hex << number;
  }
  for (std::uint32_t space : {0x20u, 0x0Au, 0x85u, 0xA0u, 0x2003u, 0x2028u, 0x3000u}) {
    EXPECT_TRUE(flags(space) & kWhitespace) << std::hex << space;
  }
  for (std::uint32_t punct : {0x21u, 0x5Fu, 0x3002u, 0xABu, 0x2014u, 0xFF01u}) {
    EXPECT_EQ(flags(punct), kPunctuation) << std::hex << punct;
  }
  for (std::uint32_t symbol : {0x24u, 0x2Bu, 0x20ACu, 0x1F600u, 0xA9u}) {
    EXPECT_EQ(flags(symbol), kSymbol) << std::hex << symbol;
  }
  EXPECT_EQ(flags(0x200Du), 0);  // zero-width joiner: a format character
  EXPECT_EQ(flags(0x110000u), 0);
}

TEST(Unicode, CaseAndHanRefineLetters) {
  auto flags = [](std::uint32_t cp) { return codepoint_flags(cp); };
  for (std::uint32_t upper : {0x41u, 0xC9u, 0x416u, 0x391u, 0x1C5u, 0x1D400u}) {  // Lu, and Lt (ǅ)
    EXPECT_EQ(flags(upper), kLetter | kUpperCase) << std::hex << upper;
  }
  for (std::uint32_t lower : {0x61u, 0xE9u, 0x436u, 0x3B1u, 0x10428u})
    EXPECT_EQ(flags(lower), kLetter | kLowerCase);
  for (std::uint32_t other : {0x627u, 0x915u, 0xE01u, 0xAC00u, 0x3042u, 0x2B0u})
    EXPECT_EQ(flags(other), kLetter);  // Lo, Lm
  for (std::uint32_t han : {0x4E2Du, 0x3400u, 0x20000u, 0x3005u})
    EXPECT_EQ(flags(han), kLetter | kHan) << std::hex << han;
  EXPECT_EQ(flags(0x3007u), kNumber | kHan);  // 〇, a Han number
  EXPECT_EQ(flags(0x2E80u), kSymbol | kHan);  // a CJK radical
  EXPECT_EQ(flags(0x3001u), kPunctuation);    // 、 is Common script, not Han
}

TEST(Unicode, NfcComposesAndLeavesNormalTextAlone) {
  std::string out = "untouched";
  EXPECT_FALSE(normalize_nfc("plain ascii", out));
  EXPECT_FALSE(normalize_nfc("d\xC3\xA9j\xC3\xA0 vu", out));  // already composed
  EXPECT_FALSE(normalize_nfc("e\xCC\x81\xFF", out));          // not UTF-8: keep the bytes
  EXPECT_EQ(out, "untouched");
  ASSERT_TRUE(normalize_nfc("e\xCC\x81t\xC3\xA9", out));      // e + combining acute
  EXPECT_EQ(out, "\xC3\xA9t\xC3\xA9");
  ASSERT_TRUE(normalize_nfc("\xE1\x84\x80\xE1\x85\xA1", out));  // conjoining jamo → 가
  EXPECT_EQ(out, "\xEA\xB0\x80");
}

}  // namespace
}  // namespace pensieve::tokenizer
