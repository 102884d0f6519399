// The pre-tokenizer regexes of DeepSeek V3 (and R1): digits in threes, CJK ideographs and kana
// apart, then words that may be led by one ASCII punctuation mark, by anything that is not a
// letter, punctuation or symbol, and symbol runs that keep the newlines after them.
#include <cstdint>

#include "tokenizer/pre_tokenizer_rules.hpp"
#include "tokenizer/rule_matching.hpp"

namespace pensieve::tokenizer::rules {
namespace {

using detail::run;
using detail::search;

// \p{N}{1,3}
std::size_t one_to_three_numbers_at(const CodepointText& t, std::size_t p, std::size_t end) {
  std::size_t q = p;
  while (q < end && q - p < 3 && t.is_number(q)) ++q;
  return q - p;
}

// [一-龥぀-ゟ゠-ヿ]+
bool is_ideograph_or_kana(std::uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x30FF);
}

std::size_t ideograph_or_kana_run_at(const CodepointText& t, std::size_t p, std::size_t end) {
  return run(p, end, [&](std::size_t i) { return is_ideograph_or_kana(t.cp(i)); }) - p;
}

// [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]
bool is_ascii_punctuation(std::uint32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E);
}

bool is_ascii_letter(std::uint32_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|
// ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
std::size_t words_at(const CodepointText& t, std::size_t p, std::size_t end) {
  if (is_ascii_punctuation(t.cp(p)) && p + 1 < end && is_ascii_letter(t.cp(p + 1))) {
    return run(p + 1, end, [&](std::size_t i) { return is_ascii_letter(t.cp(i)); }) - p;
  }
  auto letter_or_mark = [&](std::size_t i) { return t.is_letter(i) || t.is_mark(i); };
  const bool lead = !t.is_newline(p) && !t.is_letter(p) && !t.is_punctuation(p) && !t.is_symbol(p);
  if (lead && p + 1 < end && letter_or_mark(p + 1)) return run(p + 1, end, letter_or_mark) - p;
  if (letter_or_mark(p)) return run(p, end, letter_or_mark) - p;
  auto punctuation_or_symbol = [&](std::size_t i) { return t.is_punctuation(i) || t.is_symbol(i); };
  const std::size_t s = t.cp(p) == ' ' && p + 1 < end && punctuation_or_symbol(p + 1) ? p + 1 : p;
  if (punctuation_or_symbol(s)) {
    const std::size_t q = run(s, end, punctuation_or_symbol);
    return run(q, end, [&](std::size_t i) { return t.is_newline(i); }) - p;
  }
  // Digits and format characters (a zero-width joiner) that lead no word match nothing here.
  return detail::newline_or_whitespace_run(t, p, end);
}

}  // namespace

Match one_to_three_numbers(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<one_to_three_numbers_at>(t, from, end);
}
Match ideograph_or_kana_run(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<ideograph_or_kana_run_at>(t, from, end);
}
Match deepseek_v3_words(const CodepointText& t, std::size_t from, std::size_t end) {
  return search<words_at>(t, from, end);
}

}  // namespace pensieve::tokenizer::rules
