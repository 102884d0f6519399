// The o200k family of pre-tokenizer regexes (GPT-4o and gpt-oss, Mistral's Tekken, Kimi K2): words
// are split where lower case turns back to upper case ("CamelCase" → "Camel", "Case"), so each
// word branch is written in two halves — U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and
// W = [\p{Ll}\p{Lm}\p{Lo}\p{M}] — and the branches are tried in the regex's order.
#include <cstdint>

#include "tokenizer/pre_tokenizer_rules.hpp"
#include "tokenizer/rule_matching.hpp"

namespace pensieve::tokenizer::rules {
namespace {

using detail::run;

struct CasedWordsOptions {
  bool contractions;         // a word may end in (?i:'s|'t|'re|'ve|'m|'ll|'d)
  std::size_t max_digits;    // \p{N}{1,max_digits}
  bool slash_after_symbols;  // [\r\n/]* (rather than [\r\n]*) after a symbol run
  bool han_apart;            // [\p{Han}]+ comes first and Han is taken out of U and W (Kimi K2)
};

template <const CasedWordsOptions& kOptions>
class CasedWords {
 public:
  CasedWords(const CodepointText& t, std::size_t end) : t_(t), end_(end) {}

  std::size_t match_at(std::size_t p) const {
    if (kOptions.han_apart && t_.is_han(p))
      return run(p, end_, [&](std::size_t i) { return t_.is_han(i); }) - p;
    if (const std::size_t e = word(p, &CasedWords::upper_then_lower)) return e - p;
    if (const std::size_t e = word(p, &CasedWords::upper_run_then_lower)) return e - p;
    if (t_.is_number(p)) {
      std::size_t q = p;
      while (q < end_ && q - p < kOptions.max_digits && t_.is_number(q)) ++q;
      return q - p;
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
    const std::size_t s = t_.cp(p) == ' ' && p + 1 < end_ && t_.is_other(p + 1) ? p + 1 : p;
    if (t_.is_other(s)) {
      const std::size_t q = run(s, end_, [&](std::size_t i) { return t_.is_other(i); });
      return run(q, end_,
                 [&](std::size_t i) {
                   return t_.is_newline(i) || (kOptions.slash_after_symbols && t_.cp(i) == '/');
                 }) -
             p;
    }
    return detail::newline_or_whitespace_run(t_, p, end_);
  }

 private:
  using Letters = std::size_t (CasedWords::*)(std::size_t s) const;

  bool excluded(std::size_t i) const { return kOptions.han_apart && t_.is_han(i); }
  // U: a letter that is not lower case, or a mark.
  bool upper(std::size_t i) const {
    return ((t_.is_letter(i) && !t_.is_lower_case(i)) || t_.is_mark(i)) && !excluded(i);
  }
  // W: a letter that is not upper or title case, or a mark.
  bool lower(std::size_t i) const {
    return ((t_.is_letter(i) && !t_.is_upper_case(i)) || t_.is_mark(i)) && !excluded(i);
  }
  // [^\r\n\p{L}\p{N}], the optional character before a word.
  bool lead(std::size_t i) const { return !t_.is_newline(i) && !t_.is_letter(i) && !t_.is_number(i); }

  // U*W+ from s; 0 when it cannot match. U* is greedy: when the character after its run is not in
  // W, it gives characters back until the last one it holds that is also in W.
  std::size_t upper_then_lower(std::size_t s) const {
    const std::size_t u = run(s, end_, [&](std::size_t i) { return upper(i); });
    if (u < end_ && lower(u)) return run(u, end_, [&](std::size_t i) { return lower(i); });
    for (std::size_t k = u; k > s; --k) {
      if (lower(k - 1)) return k;
    }
    return 0;
  }

  // U+W* from s; 0 when it cannot match.
  std::size_t upper_run_then_lower(std::size_t s) const {
    const std::size_t u = run(s, end_, [&](std::size_t i) { return upper(i); });
    if (u == s) return 0;
    return run(u, end_, [&](std::size_t i) { return lower(i); });
  }

  // [^\r\n\p{L}\p{N}]?LETTERS(?i:'s|...)? : the leading character is tried first, then without it.
  std::size_t word(std::size_t p, Letters letters) const {
    std::size_t e = 0;
    if (lead(p) && p + 1 < end_) e = (this->*letters)(p + 1);
    if (e == 0) e = (this->*letters)(p);
    if (e == 0) return 0;
    if (kOptions.contractions && e < end_) e += detail::contraction(t_, e, end_, true);
    return e;
  }

  const CodepointText& t_;
  std::size_t end_;
};

// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
// \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
constexpr CasedWordsOptions kO200k{true, 3, true, false};
// The same without the contractions and with single digits:
// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|
// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|
// \p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
constexpr CasedWordsOptions kTekken{false, 1, true, false};
// [\p{Han}]+|
// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|...)?|
// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|...)?|
// \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
constexpr CasedWordsOptions kKimiK2{true, 3, false, true};

template <const CasedWordsOptions& kOptions>
Match search_cased(const CodepointText& t, std::size_t from, std::size_t end) {
  const CasedWords<kOptions> words(t, end);
  for (std::size_t p = from; p < end; ++p) {
    if (const std::size_t n = words.match_at(p)) return {p, p + n};
  }
  return {end, end};
}

}  // namespace

Match o200k(const CodepointText& t, std::size_t from, std::size_t end) {
  return search_cased<kO200k>(t, from, end);
}
Match tekken(const CodepointText& t, std::size_t from, std::size_t end) {
  return search_cased<kTekken>(t, from, end);
}
Match kimi_k2(const CodepointText& t, std::size_t from, std::size_t end) {
  return search_cased<kKimiK2>(t, from, end);
}

}  // namespace pensieve::tokenizer::rules
