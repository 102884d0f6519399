#include "grammar/json_formats.hpp"

namespace pensieve::grammar::detail {
namespace {

using Rule = GrammarBuilder::Rule;

ByteSet set_of(std::string_view chars) {
  ByteSet s;
  for (const char c : chars) s.add(static_cast<std::uint8_t>(c));
  return s;
}

ByteSet alnum() {
  ByteSet s = ByteSet::range('a', 'z');
  s |= ByteSet::range('A', 'Z');
  s |= ByteSet::range('0', '9');
  return s;
}

Rule digits(GrammarBuilder& b, std::size_t n) {
  return b.repeat(b.bytes(ByteSet::range('0', '9')), n, n);
}
Rule in(GrammarBuilder& b, char lo, char hi) {
  return b.bytes(ByteSet::range(static_cast<std::uint8_t>(lo), static_cast<std::uint8_t>(hi)));
}

Rule date(GrammarBuilder& b) {
  const Rule month = b.alternatives(
      {b.sequence({b.literal("0"), in(b, '1', '9')}), b.sequence({b.literal("1"), in(b, '0', '2')})});
  const Rule day = b.alternatives({b.sequence({b.literal("0"), in(b, '1', '9')}),
                                   b.sequence({in(b, '1', '2'), in(b, '0', '9')}),
                                   b.sequence({b.literal("3"), in(b, '0', '1')})});
  return b.sequence({digits(b, 4), b.literal("-"), month, b.literal("-"), day});
}

Rule time(GrammarBuilder& b) {
  auto hour = [&b] {
    return b.alternatives(
        {b.sequence({in(b, '0', '1'), in(b, '0', '9')}), b.sequence({b.literal("2"), in(b, '0', '3')})});
  };
  auto minute = [&b] { return b.sequence({in(b, '0', '5'), in(b, '0', '9')}); };
  const Rule second = b.alternatives({minute(), b.literal("60")});
  const Rule fraction = b.optional(b.sequence({b.literal("."), b.repeat(in(b, '0', '9'), 1, 9)}));
  const Rule offset = b.alternatives(
      {b.bytes(set_of("Zz")), b.sequence({b.bytes(set_of("+-")), hour(), b.literal(":"), minute()})});
  return b.sequence({hour(), b.literal(":"), minute(), b.literal(":"), second, fraction, offset});
}

Rule hex(GrammarBuilder& b, std::size_t n) {
  return b.repeat(b.bytes(set_of("0123456789abcdefABCDEF")), n, n);
}

}  // namespace

std::optional<Rule> format_text(GrammarBuilder& b, std::string_view name) {
  std::optional<Rule> body;
  if (name == "date") {
    body = date(b);
  } else if (name == "time") {
    body = time(b);
  } else if (name == "date-time") {
    body = b.sequence({date(b), b.bytes(set_of("Tt")), time(b)});
  } else if (name == "uuid") {
    body = b.sequence({hex(b, 8), b.literal("-"), hex(b, 4), b.literal("-"), hex(b, 4), b.literal("-"),
                       hex(b, 4), b.literal("-"), hex(b, 12)});
  } else if (name == "uri") {
    ByteSet scheme_char = alnum();
    scheme_char |= set_of("+.-");
    ByteSet uri_char = alnum();
    uri_char |= set_of("-._~:/?#[]@!$&'()*+,;=");
    const Rule escape = b.sequence({b.literal("%"), hex(b, 2)});
    body = b.sequence({b.bytes(ByteSet::range('a', 'z') |= ByteSet::range('A', 'Z')),
                       b.repeat(b.bytes(scheme_char), 0, std::nullopt), b.literal(":"),
                       b.repeat(b.alternatives({b.bytes(uri_char), escape}), 1, std::nullopt)});
  } else if (name == "email") {
    ByteSet local = alnum();
    local |= set_of("!#$%&'*+/=?^_`{|}~.-");
    ByteSet label = alnum();
    label |= set_of("-");
    const Rule domain_label = b.repeat(b.bytes(label), 1, 63);
    body = b.sequence({b.repeat(b.bytes(local), 1, 64), b.literal("@"), domain_label,
                       b.repeat(b.sequence({b.literal("."), domain_label}), 0, std::nullopt)});
  }
  return body;
}

std::optional<Rule> json_format(GrammarBuilder& b, std::string_view name) {
  const std::optional<Rule> body = format_text(b, name);
  if (!body) return std::nullopt;
  return b.sequence({b.literal("\""), *body, b.literal("\"")});
}

}  // namespace pensieve::grammar::detail
