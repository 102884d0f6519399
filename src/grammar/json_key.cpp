// A JSON object key that is none of an object's listed property names, however it is spelled: a
// member under a listed name but written as an extra one (additionalProperties) would replace or
// supply that property with a value its own schema never checked.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/utf8.hpp"
#include "grammar/builder.hpp"

namespace pensieve::grammar {
namespace {

// Code points of UTF-8 text (property names come from parsed JSON, so they are well formed; a
// stray byte stands for itself).
std::u32string code_points(const std::string& s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    if (b < 0xC0 || i + n > s.size()) {
      out.push_back(b);
      ++i;
      continue;
    }
    char32_t c = n == 2 ? b & 0x1F : n == 3 ? b & 0x0F : b & 0x07;
    for (std::size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(c);
    i += n;
  }
  return out;
}

std::string utf8(char32_t c) {
  std::string s;
  core::append_utf8(s, c);
  return s;
}

constexpr std::string_view kShortEscapes = "\"\\/bfnrt";
constexpr std::u32string_view kShortEscaped = U"\"\\/\b\f\n\r\t";

// Text as a sequence of byte sets: one set per byte position.
using Pattern = std::vector<ByteSet>;

ByteSet hex_digits(unsigned lo, unsigned hi) {
  ByteSet s;
  for (unsigned v = lo; v <= hi; ++v) {
    s.add(static_cast<std::uint8_t>("0123456789abcdef"[v]));
    s.add(static_cast<std::uint8_t>("0123456789ABCDEF"[v]));
  }
  return s;
}

Pattern literal_pattern(std::string_view text) {
  Pattern p;
  for (const char c : text) p.push_back(ByteSet::single(static_cast<std::uint8_t>(c)));
  return p;
}

// \uXXXX in either case of hex digit.
Pattern u_escape(unsigned v) {
  Pattern p = literal_pattern("\\u");
  for (int shift = 12; shift >= 0; shift -= 4) p.push_back(hex_digits((v >> shift) & 15, (v >> shift) & 15));
  return p;
}

// Every way JSON can write character c inside a string (raw '<' left out in markup).
std::vector<Pattern> spellings(char32_t c, bool markup) {
  std::vector<Pattern> ways;
  const bool raw = c >= 0x80 || (c >= 0x20 && c <= 0x7E && c != '"' && c != '\\' && !(markup && c == '<'));
  if (raw) ways.push_back(literal_pattern(utf8(c)));
  if (const auto k = kShortEscaped.find(c); k != std::u32string_view::npos)
    ways.push_back(literal_pattern(std::string("\\") + kShortEscapes[k]));
  if (c < 0x10000) {
    ways.push_back(u_escape(c));
  } else {
    Pattern pair = u_escape(0xD800 + ((c - 0x10000) >> 10));
    const Pattern low = u_escape(0xDC00 + ((c - 0x10000) & 0x3FF));
    pair.insert(pair.end(), low.begin(), low.end());
    ways.push_back(std::move(pair));
  }
  return ways;
}

// One character of a JSON string, as the patterns json_char() takes: raw printable ASCII, short
// escapes, \u escapes outside the surrogates, surrogate pairs, and well-formed UTF-8.
std::vector<Pattern> character_patterns(bool markup) {
  ByteSet raw;
  for (unsigned b = 0x20; b <= 0x7E; ++b)
    if (b != '"' && b != '\\' && !(markup && b == '<')) raw.add(static_cast<std::uint8_t>(b));
  ByteSet short_escape;
  for (const char c : kShortEscapes) short_escape.add(static_cast<std::uint8_t>(c));
  const ByteSet hex = hex_digits(0, 15), d = hex_digits(13, 13);
  const ByteSet bs = ByteSet::single('\\'), u = ByteSet::single('u');
  const ByteSet cont = ByteSet::range(0x80, 0xBF);
  auto r = [](unsigned lo, unsigned hi) {
    return ByteSet::range(static_cast<std::uint8_t>(lo), static_cast<std::uint8_t>(hi));
  };
  return {
      {raw},
      {bs, short_escape},
      {bs, u, hex_digits(0, 12), hex, hex, hex},
      {bs, u, d, hex_digits(0, 7), hex, hex},
      {bs, u, hex_digits(14, 15), hex, hex, hex},
      {bs, u, d, hex_digits(8, 11), hex, hex, bs, u, d, hex_digits(12, 15), hex, hex},
      {r(0xC2, 0xDF), cont},
      {r(0xE0, 0xE0), r(0xA0, 0xBF), cont},
      {r(0xE1, 0xEC), cont, cont},
      {r(0xED, 0xED), r(0x80, 0x9F), cont},
      {r(0xEE, 0xEF), cont, cont},
      {r(0xF0, 0xF0), r(0x90, 0xBF), cont, cont},
      {r(0xF1, 0xF3), cont, cont, cont},
      {r(0xF4, 0xF4), r(0x80, 0x8F), cont, cont},
  };
}

}  // namespace

GrammarBuilder::Rule GrammarBuilder::json_key_other_than(const std::vector<std::string>& listed) {
  std::vector<std::u32string> names;
  for (const std::string& n : listed) names.push_back(code_points(n));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  // Inside markup a raw '<' must never be followed by '/': the free part of a key continues as
  // make_string() does, and the trie spells '<' only as an escape (never blocking more than keys
  // that share a listed name's prefix up to a raw '<').
  const Rule quote = literal("\"");
  const Rule rest =
      markup_json_
          ? sequence({repeat(alternatives({json_char("<"), sequence({repeat(literal("<"), 1, std::nullopt),
                                                                     json_char("</")})}),
                             0, std::nullopt),
                      repeat(literal("<"), 0, std::nullopt), quote})
          : sequence({repeat(json_char(""), 0, std::nullopt), quote});
  auto pattern_rule = [this](const Pattern& p, std::size_t from) {
    std::vector<Rule> parts;
    for (std::size_t i = from; i < p.size(); ++i) parts.push_back(bytes(p[i]));
    return parts.empty() ? empty() : sequence(std::move(parts));
  };
  auto spelling = [&](char32_t c) {
    std::vector<Rule> ways;
    for (const Pattern& p : spellings(c, markup_json_)) ways.push_back(pattern_rule(p, 0));
    return alternatives(std::move(ways));
  };
  // The texts of `row` from byte `at` on that none of `excluded` (patterns of row's length that
  // match it up to `at`) can spell: bytes are grouped by which excluded patterns they continue.
  auto row_minus = [&](auto&& self, const Pattern& row, std::size_t at,
                       const std::vector<const Pattern*>& excluded) -> std::optional<Rule> {
    if (excluded.empty()) return pattern_rule(row, at);
    std::map<std::vector<const Pattern*>, ByteSet> groups;
    for (unsigned b = 0; b < 256; ++b) {
      const auto byte = static_cast<std::uint8_t>(b);
      if (!row[at].test(byte)) continue;
      std::vector<const Pattern*> continued;
      for (const Pattern* p : excluded)
        if ((*p)[at].test(byte)) continued.push_back(p);
      groups[continued].add(byte);
    }
    std::vector<Rule> choices;
    for (const auto& [continued, set] : groups) {
      if (continued.empty())
        choices.push_back(sequence({bytes(set), pattern_rule(row, at + 1)}));
      else if (at + 1 < row.size())
        if (const auto rest_of_row = self(self, row, at + 1, continued))
          choices.push_back(sequence({bytes(set), *rest_of_row}));
    }
    if (choices.empty()) return std::nullopt;
    return alternatives(std::move(choices));
  };
  const std::vector<Pattern> rows = character_patterns(markup_json_);
  // One character that is none of `taken`, in any spelling.
  auto other_character = [&](const std::u32string& taken) {
    std::vector<Pattern> excluded_spellings;
    for (const char32_t c : taken)
      for (Pattern& p : spellings(c, markup_json_)) excluded_spellings.push_back(std::move(p));
    std::vector<Rule> choices;
    for (const Pattern& row : rows) {
      std::vector<const Pattern*> excluded;
      for (const Pattern& p : excluded_spellings)
        if (p.size() == row.size()) excluded.push_back(&p);
      if (const auto r = row_minus(row_minus, row, 0, excluded)) choices.push_back(*r);
    }
    return alternatives(std::move(choices));
  };

  // [begin, end): the names sharing their first `depth` characters (the path to this node).
  auto node = [&](auto&& self, std::size_t begin, std::size_t end, std::size_t depth) -> Rule {
    std::vector<Rule> choices;
    std::size_t i = begin;
    const bool is_name = i < end && names[i].size() == depth;
    if (is_name)
      ++i;
    else
      choices.push_back(quote);
    std::u32string taken;
    while (i < end) {
      std::size_t j = i + 1;
      while (j < end && names[j][depth] == names[i][depth]) ++j;
      taken.push_back(names[i][depth]);
      choices.push_back(sequence({spelling(names[i][depth]), self(self, i, j, depth + 1)}));
      i = j;
    }
    choices.push_back(sequence({other_character(taken), rest}));
    if (markup_json_ && taken.find(U'<') == std::u32string::npos)
      choices.push_back(sequence(
          {repeat(literal("<"), 1, std::nullopt), alternatives({sequence({json_char("</"), rest}), quote})}));
    return alternatives(std::move(choices));
  };
  return sequence({quote, node(node, 0, names.size(), 0)});
}

}  // namespace pensieve::grammar
