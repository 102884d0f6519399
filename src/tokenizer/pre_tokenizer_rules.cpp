#include "tokenizer/pre_tokenizer_rules.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "tokenizer/rule_matching.hpp"

namespace pensieve::tokenizer::rules {
namespace {

using detail::contraction;
using detail::run;
using detail::search;
using detail::whitespace_run;

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::size_t gpt2_at(const CodepointText& t, std::size_t p, std::size_t end) {
  if (const std::size_t n = contraction(t, p, end, false)) return n;
  // The optional space only helps when a letter, number or other run follows it.
  const std::size_t s = t.cp(p) == ' ' && p + 1 < end && !t.is_space(p + 1) ? p + 1 : p;
  if (t.is_letter(s)) return run(s, end, [&](std::size_t i) { return t.is_letter(i); }) - p;
  if (t.is_number(s)) return run(s, end, [&](std::size_t i) { return t.is_number(i); }) - p;
  if (t.is_other(s)) return run(s, end, [&](std::size_t i) { return t.is_other(i); }) - p;
  return whitespace_run(t, p, end);
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
// \s*[\r\n]+|\s+(?!\S)|\s+       (N = 3 for Llama 3, 1 for Qwen2)
template <std::size_t kMaxDigits>
std::size_t llama3_at(const CodepointText& t, std::size_t p, std::size_t end) {
  if (const std::size_t n = contraction(t, p, end, true)) return n;
  auto letter = [&](std::size_t i) { return t.is_letter(i); };
  if (t.is_letter(p)) return run(p, end, letter) - p;
  if (!t.is_newline(p) && !t.is_number(p) && p + 1 < end && t.is_letter(p + 1)) {
    return run(p + 1, end, letter) - p;
  }
  if (t.is_number(p)) {
    std::size_t q = p;
    while (q < end && q - p < kMaxDigits && t.is_number(q)) ++q;
    return q - p;
  }
  const std::size_t s = t.cp(p) == ' ' && p + 1 < end && t.is_other(p + 1) ? p + 1 : p;
  if (t.is_other(s)) {
    const std::size_t q = run(s, end, [&](std::size_t i) { return t.is_other(i); });
    return run(q, end, [&](std::size_t i) { return t.is_newline(i); }) - p;
  }
  return detail::newline_or_whitespace_run(t, p, end);
}

// \p{N}
std::size_t single_number_at(const CodepointText& t, std::size_t p, std::size_t) {
  return t.is_number(p) ? 1 : 0;
}

// \p{N}+
std::size_t number_run_at(const CodepointText& t, std::size_t p, std::size_t end) {
  return run(p, end, [&](std::size_t i) { return t.is_number(i); }) - p;
}

// [0-9][0-9][0-9]
std::size_t three_ascii_digits_at(const CodepointText& t, std::size_t p, std::size_t end) {
  if (p + 3 > end) return 0;
  for (std::size_t i = p; i < p + 3; ++i) {
    if (t.cp(i) < '0' || t.cp(i) > '9') return 0;
  }
  return 3;
}

bool is_math_ascii(std::uint32_t c) {
  return c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '~' || c == '|';
}

// [\p{P}\$\+<=>\^~\|]+
std::size_t punctuation_run_at(const CodepointText& t, std::size_t p, std::size_t end) {
  return run(p, end, [&](std::size_t i) { return t.is_punctuation(i) || is_math_ascii(t.cp(i)); }) - p;
}

// [\p{P}\$\+<=>\^~\|`]+
std::size_t punctuation_run_with_backtick_at(const CodepointText& t, std::size_t p, std::size_t end) {
  return run(p, end, [&](std::size_t i) {
           const std::uint32_t c = t.cp(i);
           return t.is_punctuation(i) || is_math_ascii(c) || c == '`';
         }) - p;
}

// [\r\n]
std::size_t single_newline_at(const CodepointText& t, std::size_t p, std::size_t) {
  return t.is_newline(p) ? 1 : 0;
}

// \s?X+ for a class X.
template <typename InClass>
std::size_t optional_space_then_run(const CodepointText& t, std::size_t p, std::size_t end, InClass in) {
  if (t.is_space(p) && p + 1 < end && in(p + 1)) return run(p + 1, end, in) - p;
  if (in(p)) return run(p, end, in) - p;
  return 0;
}

// \s?\p{L}+
std::size_t space_then_letters_at(const CodepointText& t, std::size_t p, std::size_t end) {
  return optional_space_then_run(t, p, end, [&](std::size_t i) { return t.is_letter(i); });
}

// \s?\p{P}+
std::size_t space_then_punctuation_at(const CodepointText& t, std::size_t p, std::size_t end) {
  return optional_space_then_run(t, p, end, [&](std::size_t i) { return t.is_punctuation(i); });
}

// [一-龥ࠀ-一가-퟿]+
bool is_cjk_class(std::uint32_t c) {
  return (c >= 0x0800 && c <= 0x9FA5) || (c >= 0xAC00 && c <= 0xD7FF);
}

std::size_t cjk_run_at(const CodepointText& t, std::size_t p, std::size_t end) {
  return run(p, end, [&](std::size_t i) { return is_cjk_class(t.cp(i)); }) - p;
}

struct CodepointRange {
  std::uint32_t first;
  std::uint32_t last;
};

// The letter class of the DeepSeek LLM pre-tokenizer (the cased letters, Lu/Ll/Lt, as that
// tokenizer lists them), sorted for binary search.
constexpr CodepointRange kCasedLetters[] = {
      {0x41, 0x5A},       {0x61, 0x7A},       {0xB5, 0xB5},       {0xC0, 0xD6},
      {0xD8, 0xF6},       {0xF8, 0x1BA},      {0x1BC, 0x1BF},     {0x1C4, 0x293},
      {0x295, 0x2AF},     {0x370, 0x373},     {0x376, 0x377},     {0x37B, 0x37D},
      {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},     {0x38C, 0x38C},
      {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},     {0x48A, 0x52F},
      {0x531, 0x556},     {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},
      {0x1C90, 0x1CBA},   {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},
      {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},   {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},
      {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},   {0x1F5B, 0x1F5B},
      {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
      {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},
      {0x1FD6, 0x1FDB},   {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},
      {0x2102, 0x2102},   {0x2107, 0x2107},   {0x210A, 0x2113},   {0x2115, 0x2115},
      {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},   {0x2128, 0x2128},
      {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
      {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},
      {0x2C7E, 0x2CE4},   {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},
      {0xA680, 0xA69B},   {0xA722, 0xA76F},   {0xA771, 0xA787},   {0xA78B, 0xA78E},
      {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},   {0xFF21, 0xFF3A},
      {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
      {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

bool is_cased_letter(std::uint32_t c) {
  const auto* begin = std::begin(kCasedLetters);
  const auto* end = std::end(kCasedLetters);
  const auto* it = std::upper_bound(begin, end, c, [](std::uint32_t v, const CodepointRange& r) {
    return v < r.first;
  });
  return it != begin && c <= (it - 1)->last;
}

// \s?[A-Za-zµÀ-ÖØ-öø-ƺ...𞤀-𞥃]+
std::size_t space_then_cased_letters_at(const CodepointText& t, std::size_t p, std::size_t end) {
  return optional_space_then_run(t, p, end, [&](std::size_t i) { return is_cased_letter(t.cp(i)); });
}

// \s?[!-/:-~！-／：-～‘-‟　-。]+
bool is_ascii_like_punctuation(std::uint32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x7E) || (c >= 0xFF01 && c <= 0xFF0F) ||
         (c >= 0xFF1A && c <= 0xFF5E) || (c >= 0x2018 && c <= 0x201F) || (c >= 0x3000 && c <= 0x3002);
}

std::size_t space_then_ascii_punctuation_at(const CodepointText& t, std::size_t p, std::size_t end) {
  return optional_space_then_run(t, p, end,
                                 [&](std::size_t i) { return is_ascii_like_punctuation(t.cp(i)); });
}

}  // namespace

Match gpt2(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<gpt2_at>(t, from, end);
}
Match llama3(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<llama3_at<3>>(t, from, end);
}
Match qwen2(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<llama3_at<1>>(t, from, end);
}
Match single_number(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<single_number_at>(t, from, end);
}
Match number_run(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<number_run_at>(t, from, end);
}
Match three_ascii_digits(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<three_ascii_digits_at>(t, from, end);
}
Match punctuation_run(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<punctuation_run_at>(t, from, end);
}
Match punctuation_run_with_backtick(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<punctuation_run_with_backtick_at>(t, from, end);
}
Match single_newline(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<single_newline_at>(t, from, end);
}
Match space_then_letters(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<space_then_letters_at>(t, from, end);
}
Match space_then_punctuation(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<space_then_punctuation_at>(t, from, end);
}
Match cjk_run(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<cjk_run_at>(t, from, end);
}
Match space_then_cased_letters(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<space_then_cased_letters_at>(t, from, end);
}
Match space_then_ascii_punctuation(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<space_then_ascii_punctuation_at>(t, from, end);
}

// \s+$ : the only possible match is the whitespace run that reaches the end of the piece.
Match trailing_spaces(const CodepointText& t, std::size_t from, std::size_t end) {
  std::size_t k = end;
  while (k > from && t.is_space(k - 1)) --k;
  return k < end ? Match{k, end} : Match{end, end};
}

}  // namespace pensieve::tokenizer::rules
