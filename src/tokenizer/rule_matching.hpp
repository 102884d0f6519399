// tokenizer/rule_matching: the building blocks the hand-written pre-tokenizer regexes share — the
// leftmost-match search over anchored matchers, runs of a class, the contractions, and the
// whitespace tails that end most of the regexes. Internal to the pre_tokenizer_rules*.cpp files.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tokenizer/codepoint_text.hpp"
#include "tokenizer/pre_tokenizer_rules.hpp"

namespace pensieve::tokenizer::rules::detail {

// An anchored matcher: the length of the match starting exactly at `pos`, 0 for none.
using MatchAt = std::size_t (*)(const CodepointText& t, std::size_t pos, std::size_t end);

template <MatchAt match_at>
Match search(const CodepointText& t, std::size_t from, std::size_t end) {
  for (std::size_t p = from; p < end; ++p) {
    if (const std::size_t n = match_at(t, p, end)) return {p, p + n};
  }
  return {end, end};
}

template <typename Pred>
std::size_t run(std::size_t p, std::size_t end, Pred pred) {
  while (p < end && pred(p)) ++p;
  return p;
}

// 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive as in (?i:...). No alternative is a
// prefix of another, so the first that fits is the regex's choice.
inline std::size_t contraction(const CodepointText& t, std::size_t p, std::size_t end, bool ignore_case) {
  if (t.cp(p) != '\'' || p + 1 >= end) return 0;
  auto at = [&](std::size_t i) {
    const std::uint32_t c = t.cp(i);
    return ignore_case && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
  };
  const std::uint32_t c1 = at(p + 1);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  if (p + 2 < end) {
    const std::uint32_t c2 = at(p + 2);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
  }
  return 0;
}

// \s+(?!\S)|\s+ at a whitespace character: a run followed by a non-space gives that character
// back so it can lead the next word (" word").
inline std::size_t whitespace_run(const CodepointText& t, std::size_t p, std::size_t end) {
  const std::size_t q = run(p, end, [&](std::size_t i) { return t.is_space(i); });
  if (q == p) return 0;
  if (q == end || q - p == 1) return q - p;
  return q - p - 1;
}

// \s*[\r\n]+|\s+(?!\S)|\s+ : the tail of the Llama 3 family. \s*[\r\n]+ ends after the last
// newline of the whitespace run, when it has one.
inline std::size_t newline_or_whitespace_run(const CodepointText& t, std::size_t p, std::size_t end) {
  const std::size_t q = run(p, end, [&](std::size_t i) { return t.is_space(i); });
  for (std::size_t j = q; j > p; --j) {
    if (t.is_newline(j - 1)) return j - p;
  }
  return whitespace_run(t, p, end);
}

}  // namespace pensieve::tokenizer::rules::detail
