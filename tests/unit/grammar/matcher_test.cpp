// The byte-level grammar: builder parts, JSON pieces, schema errors.
#include "grammar/matcher.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "grammar/builder.hpp"

namespace pensieve::grammar {
namespace {

using nlohmann::ordered_json;

bool matches(const std::shared_ptr<const Grammar>& g, std::string_view text) {
  Matcher m(g);
  return m.accept(text) && m.can_end();
}

std::shared_ptr<const Grammar> schema_grammar(const char* schema) {
  GrammarBuilder b;
  auto r = b.json_schema(ordered_json::parse(schema));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? b.build(*r) : nullptr;
}

TEST(GrammarMatcher, LiteralsSequencesAlternativesRepeats) {
  GrammarBuilder b;
  const auto call = b.sequence(
      {b.literal("<call>"), b.alternatives({b.literal("a"), b.literal("ab")}), b.literal("</call>")});
  const auto g = b.build(b.repeat(call, 1, 2));
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(matches(g, "<call>a</call>"));
  EXPECT_TRUE(matches(g, "<call>ab</call><call>a</call>"));
  EXPECT_FALSE(matches(g, "<call>ab</call><call>a</call><call>a</call>"));
  EXPECT_FALSE(matches(g, ""));
  Matcher m(g);
  EXPECT_FALSE(m.accept("<calx"));
  EXPECT_TRUE(m.accept("<call>a"));
  EXPECT_FALSE(m.can_end());
  EXPECT_TRUE(m.accept("</call>"));
  EXPECT_TRUE(m.can_end());
  EXPECT_FALSE(m.must_end());
  EXPECT_TRUE(m.accept("<call>a</call>"));
  EXPECT_TRUE(m.must_end());
}

TEST(GrammarMatcher, FailedAcceptLeavesStateUnchanged) {
  GrammarBuilder b;
  const auto g = b.build(b.literal("abc"));
  Matcher m(g);
  ASSERT_TRUE(m.accept("a"));
  EXPECT_FALSE(m.accept("bx"));
  EXPECT_TRUE(m.accept("bc"));
  EXPECT_TRUE(m.must_end());
}

TEST(GrammarMatcher, WhitespaceIsBounded) {
  GrammarBuilder b;
  const auto g = b.build(b.sequence({b.literal("["), b.optional_whitespace(), b.literal("]")}));
  EXPECT_TRUE(matches(g, "[]"));
  EXPECT_TRUE(matches(g, "[\n  ]"));
  EXPECT_TRUE(matches(g, "[\r\n\t]"));
  EXPECT_TRUE(matches(g, "[" + std::string(kMaxIndent, ' ') + "]"));
  EXPECT_FALSE(matches(g, "[" + std::string(kMaxIndent + 1, ' ') + "]"));
  EXPECT_FALSE(matches(g, "[\n\n]"));
}

TEST(GrammarMatcher, JsonStrings) {
  GrammarBuilder b;
  const auto g = b.build(b.json_string());
  EXPECT_TRUE(matches(g, R"("")"));
  EXPECT_TRUE(matches(g, R"("a \"b\" \\ \/ \b\f\n\r\t \u00e9 \uD83D\uDE00")"));
  EXPECT_TRUE(matches(g, "\"é 日本 😀\""));
  EXPECT_FALSE(matches(g, "\"\n\""));                // raw control character
  EXPECT_FALSE(matches(g, R"("\x")"));               // not an escape
  EXPECT_FALSE(matches(g, R"("\uD83D")"));           // lone surrogate
  EXPECT_FALSE(matches(g, "\"\xC0\xAF\""));          // overlong
  EXPECT_FALSE(matches(g, "\"\xED\xA0\x80\""));      // encoded surrogate
  EXPECT_FALSE(matches(g, "\"\xF4\x90\x80\x80\""));  // past U+10FFFF
  EXPECT_FALSE(matches(g, "\"\xE6\x97\""));          // truncated character
  GrammarBuilder b2;
  const auto bounded = b2.build(b2.json_string(2, 3));
  EXPECT_FALSE(matches(bounded, R"("a")"));
  EXPECT_TRUE(matches(bounded, R"("a\n")"));
  EXPECT_TRUE(matches(bounded, "\"日本語\""));
  EXPECT_FALSE(matches(bounded, "\"日本語x\""));
}

TEST(GrammarMatcher, AnyJson) {
  GrammarBuilder b;
  const auto g = b.build(b.any_json());
  for (const char* ok :
       {"null", "true", "-0.5e+10", "[]", "{}", R"({"a": [1, {"b": null}], "c": "d"})", "[\n  1,\n  2\n]"}) {
    EXPECT_TRUE(matches(g, ok)) << ok;
  }
  for (const char* bad : {"nul", "01", "[1,]", "{\"a\"}", "{a: 1}", "1.", "+1", "[1 2]"}) {
    EXPECT_FALSE(matches(g, bad)) << bad;
  }
}

// Every number the grammar lets through is a float64 a JSON reader takes: 1e999 would be refused
// (nlohmann::json discards it), losing a whole call's arguments.
TEST(GrammarMatcher, NumbersStayWithinAFloat64) {
  GrammarBuilder b;
  const auto any = b.build(b.any_json());
  const auto number = schema_grammar(R"({"type": "number"})");
  for (const auto& g : {any, number}) {
    for (const char* ok : {"1e99", "-99999999999999999999.5e-99", "0.00000000000000000001E+10"}) {
      EXPECT_TRUE(matches(g, ok)) << ok;
      EXPECT_FALSE(nlohmann::json::parse(ok, nullptr, false).is_discarded()) << ok;
    }
    EXPECT_FALSE(matches(g, "1e999"));
    EXPECT_FALSE(matches(g, "1e308"));
  }
}

TEST(GrammarSchema, ObjectsKeepOrderAndSkipOptional) {
  const auto g = schema_grammar(R"({"type": "object", "properties": {
      "a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}},
      "required": ["b"]})");
  EXPECT_TRUE(matches(g, R"({"b": "x"})"));
  EXPECT_TRUE(matches(g, R"({"a": 1, "b": "x", "c": true})"));
  EXPECT_TRUE(matches(g, R"({"a":-3,"b":"x"})"));
  EXPECT_TRUE(matches(g, "{\n  \"b\": \"x\",\n  \"c\": false\n}"));
  EXPECT_FALSE(matches(g, R"({})"));
  EXPECT_FALSE(matches(g, R"({"b": "x", "a": 1})"));  // out of order
  EXPECT_FALSE(matches(g, R"({"b": "x", "d": 1})"));  // unlisted
  EXPECT_FALSE(matches(g, R"({"a": 1.5, "b": "x"})"));
  EXPECT_FALSE(matches(g, R"({"b": "x",})"));
}

// An extra member (additionalProperties) under a listed name would replace or supply that
// property with a value its schema never checked: no spelling of a listed name may be an extra
// key, and every other key may. Checked over every key of up to three characters from units that
// spell the listed names' characters in all of JSON's ways; in markup (Qwen3-Coder), where a
// value must also never hold "</", as well.
TEST(GrammarSchema, ExtraMembersNeverRepeatAListedName) {
  const char* object =
      R"({"type": "object", "properties": {"ab": {"type": "integer"}, "a": {"type": "integer"},
      "b/": {"type": "integer"}, "\u00e9": {"type": "integer"}}, "additionalProperties": {"type": "boolean"}})";
  const auto plain = schema_grammar(object);
  GrammarBuilder b;
  const MarkupForm form = MarkupForm::qwen3_coder();
  auto r = b.markup_arguments(
      ordered_json::parse(std::string(R"({"properties": {"o": )") + object + R"(}, "required": ["o"]})"),
      form);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto markup = b.build(*r);
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(markup, nullptr);
  const std::vector<std::string> units{"a",       "b",       "/",       "\\/",    "\\u0061", "\\u0041",
                                       "\\u0062", "\\u002F", "\\u002f", "\u00e9", "\\u00E9", "\\ud83d\\ude00",
                                       "<"};
  std::vector<std::string> keys{""};
  for (std::size_t length = 0, begin = 0; length < 3; ++length) {
    const std::size_t end = keys.size();
    for (std::size_t i = begin; i < end; ++i)
      for (const std::string& u : units) keys.push_back(keys[i] + u);
    begin = end;
  }
  const std::set<std::string> listed{"ab", "a", "b/", "\u00e9"};
  int refused = 0;
  for (const std::string& key : keys) {
    const std::string value = ordered_json::parse("\"" + key + "\"").get<std::string>();
    const bool allowed = !listed.contains(value);
    refused += !allowed;
    const std::string member = "{\"" + key + "\": true}";
    EXPECT_EQ(matches(plain, member), allowed) << member;
    const std::string call = "<parameter=o>\n" + member + "\n</parameter>\n";
    EXPECT_EQ(matches(markup, call), allowed && key.find("</") == std::string::npos) << call;
  }
  // a 2 ways, ab 2×2, b/ 2×4, é 2: the units do spell the listed names in every way they can.
  EXPECT_EQ(refused, 16);
  EXPECT_TRUE(matches(plain, R"({"ab": 1, "a": 2, "x": false, "abc": true, "": true})"));
  EXPECT_FALSE(matches(plain, R"({"ab": 1, "ab": true})"));
}

TEST(GrammarSchema, IntegersNumbersEnumsFormats) {
  const auto range = schema_grammar(R"({"type": "integer", "minimum": -3, "exclusiveMaximum": 12})");
  for (int v = -5; v < 15; ++v) EXPECT_EQ(matches(range, std::to_string(v)), v >= -3 && v < 12) << v;
  const auto positive = schema_grammar(R"({"type": "integer", "minimum": 1})");
  EXPECT_TRUE(matches(positive, "123456789"));
  EXPECT_FALSE(matches(positive, "0"));
  EXPECT_FALSE(matches(positive, "-1"));
  const auto number = schema_grammar(R"({"type": "number", "minimum": 0})");
  EXPECT_TRUE(matches(number, "0.25"));
  EXPECT_FALSE(matches(number, "-1"));
  const auto e = schema_grammar(R"({"enum": ["x", 2, null, {"a": [true]}]})");
  EXPECT_TRUE(matches(e, R"("x")"));
  EXPECT_TRUE(matches(e, R"({"a":[true]})"));
  EXPECT_FALSE(matches(e, R"("y")"));
  const auto nullable = schema_grammar(R"({"type": ["string", "null"]})");
  EXPECT_TRUE(matches(nullable, "null"));
  EXPECT_TRUE(matches(nullable, R"("s")"));
  const auto dt = schema_grammar(R"({"type": "string", "format": "date-time"})");
  EXPECT_TRUE(matches(dt, R"("2024-02-29T23:59:60.5Z")"));
  EXPECT_FALSE(matches(dt, R"("2024-13-01T00:00:00Z")"));
  const auto uri = schema_grammar(R"({"type": "string", "format": "uri"})");
  EXPECT_TRUE(matches(uri, R"("https://example.com/x?y=1#z")"));
  EXPECT_FALSE(matches(uri, R"("not a uri")"));
}

TEST(GrammarSchema, RecursiveRefs) {
  const auto g = schema_grammar(R"({"$defs": {"list": {"type": "object", "properties": {
      "v": {"type": "integer"}, "next": {"anyOf": [{"$ref": "#/$defs/list"}, {"type": "null"}]}},
      "required": ["v", "next"], "additionalProperties": false}}, "$ref": "#/$defs/list"})");
  EXPECT_TRUE(matches(g, R"({"v": 1, "next": {"v": 2, "next": null}})"));
  EXPECT_FALSE(matches(g, R"({"v": 1, "next": {"v": 2}})"));
}

TEST(GrammarSchema, UnsupportedKeywordsAreNamedWithTheirPointer) {
  struct Case {
    const char* schema;
    const char* expected;
  };
  for (
      const auto& c : std::vector<Case>{
          {R"({"type": "object", "properties": {"a": {"type": "string", "pattern": "^x"}}})",
           "/properties/a/pattern"},
          {R"({"type": "object", "patternProperties": {"x": {}}})",
           "'patternProperties' at /patternProperties"},
          {R"({"type": "array", "items": {"type": "integer", "multipleOf": 2}})",
           "'multipleOf' at /items/multipleOf"},
          {R"({"type": "string", "format": "ipv4"})", "format 'ipv4' at /format"},
          {R"({"$ref": "https://example.com/s.json"})", "/$ref"},
          {R"({"not": {"type": "null"}})", "'not' at /not"},
          {R"({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})", "left-recursive"},
          {R"({"$defs": {"n": {"type": "object", "properties": {"n": {"$ref": "#/$defs/n"}}, "required": ["n"]}},
               "$ref": "#/$defs/n"})",
           "matches no text"},
      }) {
    GrammarBuilder b;
    auto r = b.json_schema(ordered_json::parse(c.schema));
    ASSERT_FALSE(r.ok()) << c.schema;
    EXPECT_NE(r.error().message.find(c.expected), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace pensieve::grammar
