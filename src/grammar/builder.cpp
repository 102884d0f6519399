#include "grammar/builder.hpp"

#include <algorithm>
#include <map>

#include "grammar/compile.hpp"
#include "grammar/control_token.hpp"

namespace pensieve::grammar {

using detail::Expr;

GrammarBuilder::GrammarBuilder() = default;

GrammarBuilder::Rule GrammarBuilder::add(Expr e) {
  pool_.exprs.push_back(std::move(e));
  return Rule{static_cast<std::uint32_t>(pool_.exprs.size() - 1)};
}

GrammarBuilder::Rule GrammarBuilder::literal(std::string_view bytes) {
  Expr e;
  e.kind = Expr::Kind::kLiteral;
  e.text = std::string(bytes);
  return add(std::move(e));
}

GrammarBuilder::Rule GrammarBuilder::token(std::string_view text) {
  return alternatives({literal(text), literal(control_token_bytes(text))});
}

GrammarBuilder::Rule GrammarBuilder::text_with_tokens(std::string_view text,
                                                      std::span<const std::string> tokens) {
  std::vector<Rule> parts;
  std::size_t at = 0;
  while (at < text.size()) {
    // The token that occurs first (the longest where two begin at the same place).
    std::size_t best = std::string_view::npos;
    std::string_view found;
    for (const std::string& t : tokens) {
      const std::size_t pos = t.empty() ? std::string_view::npos : text.find(t, at);
      if (pos < best || (pos == best && pos != std::string_view::npos && t.size() > found.size())) {
        best = pos;
        found = t;
      }
    }
    if (best == std::string_view::npos) {
      parts.push_back(literal(text.substr(at)));
      break;
    }
    if (best > at) parts.push_back(literal(text.substr(at, best - at)));
    parts.push_back(token(found));
    at = best + found.size();
  }
  if (parts.empty()) return empty();
  return sequence(std::move(parts));
}

GrammarBuilder::Rule GrammarBuilder::bytes(const ByteSet& set) {
  Expr e;
  e.kind = Expr::Kind::kBytes;
  e.bytes = set;
  return add(std::move(e));
}

GrammarBuilder::Rule GrammarBuilder::empty() {
  return add(Expr{});
}

GrammarBuilder::Rule GrammarBuilder::sequence(std::vector<Rule> parts) {
  if (parts.size() == 1) return parts[0];
  Expr e;
  e.kind = Expr::Kind::kSequence;
  for (const Rule r : parts) e.children.push_back(r.index);
  return add(std::move(e));
}

GrammarBuilder::Rule GrammarBuilder::alternatives(std::vector<Rule> choices) {
  if (choices.size() == 1) return choices[0];
  Expr e;
  e.kind = Expr::Kind::kAlternatives;
  for (const Rule r : choices) e.children.push_back(r.index);
  return add(std::move(e));
}

GrammarBuilder::Rule GrammarBuilder::repeat(Rule r, std::size_t min, std::optional<std::size_t> max) {
  if (max && *max < min) max = min;
  Expr e;
  e.kind = Expr::Kind::kRepeat;
  e.children.push_back(r.index);
  e.min = min;
  e.max = max;
  return add(std::move(e));
}

GrammarBuilder::Rule GrammarBuilder::literal_set(std::vector<std::string> strings) {
  std::sort(strings.begin(), strings.end());
  strings.erase(std::unique(strings.begin(), strings.end()), strings.end());
  // Groups [begin, end) of sorted strings that agree on their first `depth` bytes.
  auto trie = [&](auto&& self, std::size_t begin, std::size_t end, std::size_t depth) -> Rule {
    std::vector<Rule> choices;
    std::size_t i = begin;
    if (strings[i].size() == depth) choices.push_back(empty()), ++i;
    while (i < end) {
      std::size_t j = i + 1;
      while (j < end && strings[j][depth] == strings[i][depth]) ++j;
      choices.push_back(sequence({literal(strings[i].substr(depth, 1)), self(self, i, j, depth + 1)}));
      i = j;
    }
    return alternatives(std::move(choices));
  };
  if (strings.empty()) return empty();
  return trie(trie, 0, strings.size(), 0);
}

std::uint32_t GrammarBuilder::declare(std::string name) {
  pool_.rule_bodies.emplace_back();
  pool_.rule_names.push_back(std::move(name));
  return static_cast<std::uint32_t>(pool_.rule_bodies.size() - 1);
}

void GrammarBuilder::define(std::uint32_t rule, Rule body) {
  pool_.rule_bodies[rule] = body.index;
}

GrammarBuilder::Rule GrammarBuilder::call(std::uint32_t rule) {
  Expr e;
  e.kind = Expr::Kind::kCall;
  e.rule = rule;
  return add(std::move(e));
}

GrammarBuilder::Rule GrammarBuilder::shared_rule(std::optional<std::uint32_t>& slot, const char* name,
                                                 Rule (GrammarBuilder::*make)()) {
  if (!slot) {
    slot = declare(name);
    const std::uint32_t id = *slot;
    define(id, (this->*make)());
  }
  return call(*slot);
}

GrammarBuilder::Rule GrammarBuilder::optional_whitespace() {
  return shared_rule(ws_rule_, "ws", &GrammarBuilder::make_ws);
}

GrammarBuilder::Rule GrammarBuilder::make_ws() {
  return sequence({optional(literal_set({"\n", "\r\n"})), repeat(bytes([] {
                                                                   ByteSet s;
                                                                   s.add(' ');
                                                                   s.add('\t');
                                                                   return s;
                                                                 }()),
                                                                 0, kMaxIndent)});
}

GrammarBuilder::Rule GrammarBuilder::utf8_multibyte(bool with_bom) {
  const Rule cont = bytes(ByteSet::range(0x80, 0xBF));
  auto r = [this](std::uint8_t lo, std::uint8_t hi) { return bytes(ByteSet::range(lo, hi)); };
  // U+FEFF is EF BB BF: without it, EF BB takes 80..BE only.
  const Rule ef = with_bom ? sequence({r(0xEF, 0xEF), cont, cont})
                           : alternatives({sequence({r(0xEF, 0xEF), r(0x80, 0xBA), cont}),
                                           sequence({r(0xEF, 0xEF), r(0xBB, 0xBB), r(0x80, 0xBE)}),
                                           sequence({r(0xEF, 0xEF), r(0xBC, 0xBF), cont})});
  // The well-formed sequences of Unicode's table 3-7: no overlongs, surrogates or values past
  // U+10FFFF.
  return alternatives({
      sequence({r(0xC2, 0xDF), cont}),
      sequence({r(0xE0, 0xE0), r(0xA0, 0xBF), cont}),
      sequence({r(0xE1, 0xEC), cont, cont}),
      sequence({r(0xED, 0xED), r(0x80, 0x9F), cont}),
      sequence({r(0xEE, 0xEE), cont, cont}),
      ef,
      sequence({r(0xF0, 0xF0), r(0x90, 0xBF), cont, cont}),
      sequence({r(0xF1, 0xF3), cont, cont, cont}),
      sequence({r(0xF4, 0xF4), r(0x80, 0x8F), cont, cont}),
  });
}

// One character of a JSON string, but none of the printable ASCII characters `unwritten` (an
// escape may still stand for them).
GrammarBuilder::Rule GrammarBuilder::json_char(std::string_view unwritten) {
  ByteSet without_quote_and_backslash;
  for (unsigned b = 0x20; b <= 0x7E; ++b)
    if (b != '"' && b != '\\' && unwritten.find(static_cast<char>(b)) == std::string_view::npos)
      without_quote_and_backslash.add(static_cast<std::uint8_t>(b));
  auto set_of = [](std::string_view chars) {
    ByteSet s;
    for (const char c : chars) s.add(static_cast<std::uint8_t>(c));
    return s;
  };
  const ByteSet hex_set = set_of("0123456789abcdefABCDEF");
  auto hex = [&] { return bytes(hex_set); };
  // \uXXXX outside the surrogates, or a high surrogate escape followed by a low one: a lone
  // surrogate is valid JSON text but not a character, and JSON parsers refuse it.
  const Rule plain_escape = sequence({bytes(set_of("0123456789ABCabc")), hex(), hex(), hex()});
  const Rule d_low = sequence({bytes(set_of("Dd")), bytes(set_of("01234567")), hex(), hex()});
  const Rule ef = sequence({bytes(set_of("EFef")), hex(), hex(), hex()});
  const Rule pair = sequence({bytes(set_of("Dd")), bytes(set_of("89ABab")), hex(), hex(), literal("\\u"),
                              bytes(set_of("Dd")), bytes(set_of("CDEFcdef")), hex(), hex()});
  const Rule escape =
      sequence({literal("\\"),
                alternatives({bytes(set_of("\"\\/bfnrt")),
                              sequence({literal("u"), alternatives({plain_escape, d_low, ef, pair})})})});
  return alternatives({bytes(without_quote_and_backslash), escape, utf8_multibyte()});
}

GrammarBuilder::Rule GrammarBuilder::make_string() {
  if (!markup_json_) return sequence({literal("\""), repeat(json_char(""), 0, std::nullopt), literal("\"")});
  // No "</": every run of '<' is followed by a character other than '/', or ends the string.
  const Rule after_lts = sequence({repeat(literal("<"), 1, std::nullopt), json_char("</")});
  const Rule chunk = alternatives({json_char("<"), after_lts});
  return sequence(
      {literal("\""), repeat(chunk, 0, std::nullopt), repeat(literal("<"), 0, std::nullopt), literal("\"")});
}

GrammarBuilder::Rule GrammarBuilder::json_string(std::size_t min_chars,
                                                 std::optional<std::size_t> max_chars) {
  if (min_chars == 0 && !max_chars)
    return shared_rule(string_rule_[markup_json_], markup_json_ ? "markup string" : "string",
                       &GrammarBuilder::make_string);
  const std::uint32_t id = declare("string{" + std::to_string(min_chars) + "," +
                                   (max_chars ? std::to_string(*max_chars) : std::string()) + "}");
  // In markup a counted string leaves '<' out (escapes may still write it): "no '</'" and a
  // count of characters do not combine into a small automaton.
  define(id, sequence({literal("\""), repeat(json_char(markup_json_ ? "<" : ""), min_chars, max_chars),
                       literal("\"")}));
  return call(id);
}

GrammarBuilder::Rule GrammarBuilder::make_number() {
  // Digits are bounded too (a float64 needs no more), so that no loop is unbounded but strings'.
  // Two exponent digits keep every number within a float64 (20 digits × 1e99): a reader such as
  // nlohmann::json refuses 1e999 outright, which would lose a whole tool call's arguments.
  const Rule digit = bytes(ByteSet::range('0', '9'));
  const Rule integer =
      alternatives({literal("0"), sequence({bytes(ByteSet::range('1', '9')), repeat(digit, 0, 19)})});
  const Rule fraction = sequence({literal("."), repeat(digit, 1, 20)});
  const Rule exponent = sequence({literal_set({"e", "E", "e+", "E+", "e-", "E-"}), repeat(digit, 1, 2)});
  return sequence({optional(literal("-")), integer, optional(fraction), optional(exponent)});
}

GrammarBuilder::Rule GrammarBuilder::make_value() {
  const Rule ws = optional_whitespace();
  const Rule str = json_string();
  const Rule value = call(*value_rule_[markup_json_]);
  const Rule sep = sequence({ws, literal(","), ws});
  const Rule member = sequence({str, ws, literal(":"), ws, value});
  const Rule object = sequence(
      {literal("{"), ws,
       alternatives({literal("}"), sequence({member, repeat(sequence({sep, member}), 0, std::nullopt), ws,
                                             literal("}")})})});
  const Rule array = sequence(
      {literal("["), ws,
       alternatives({literal("]"),
                     sequence({value, repeat(sequence({sep, value}), 0, std::nullopt), ws, literal("]")})})});
  const Rule number = shared_rule(number_rule_, "number", &GrammarBuilder::make_number);
  return alternatives({object, array, str, number, literal_set({"true", "false", "null"})});
}

GrammarBuilder::Rule GrammarBuilder::any_json() {
  std::optional<std::uint32_t>& slot = value_rule_[markup_json_];
  if (!slot) {
    slot = declare(markup_json_ ? "markup value" : "value");
    const std::uint32_t id = *slot;
    define(id, make_value());
  }
  return call(*slot);
}

Result<std::shared_ptr<const Grammar>> GrammarBuilder::try_build(Rule root) {
  auto data = detail::compile(pool_, root.index, true);
  if (!data) return data.error();
  return std::make_shared<const Grammar>(std::move(*data));
}

std::shared_ptr<const Grammar> GrammarBuilder::build(Rule root) {
  auto g = try_build(root);
  return g ? std::move(*g) : nullptr;
}

}  // namespace pensieve::grammar
