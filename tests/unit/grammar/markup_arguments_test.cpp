// Tool arguments in markup (Qwen3-Coder, GLM) and control-token literals, at the grammar level:
// which texts the grammar takes, checked exhaustively over small alphabets where the rule is
// "no closing tag inside a value" or "no listed name twice". The round trip through the family
// parsers is in tests/unit/chat/tool_call_grammar_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "grammar/builder.hpp"
#include "grammar/control_token.hpp"
#include "grammar/matcher.hpp"

namespace pensieve::grammar {
namespace {

using nlohmann::ordered_json;

bool matches(const std::shared_ptr<const Grammar>& g, std::string_view text) {
  Matcher m(g);
  return m.accept(text) && m.can_end();
}

// A small form whose closing tag is short enough to enumerate around.
MarkupForm tiny_form() {
  MarkupForm f;
  f.name_open = "<k=";
  f.name_close = ">";
  f.value_close = "</v>;";
  f.value_end = "</v>";
  return f;
}

std::shared_ptr<const Grammar> arguments_grammar(const char* schema, const MarkupForm& form = tiny_form()) {
  GrammarBuilder b;
  auto r = b.markup_arguments(ordered_json::parse(schema), form);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? b.build(*r) : nullptr;
}

// Every string over `alphabet` of length 0..n.
std::vector<std::string> all_strings(std::string_view alphabet, std::size_t n) {
  std::vector<std::string> out{""};
  for (std::size_t i = 0, begin = 0; i < n; ++i) {
    const std::size_t end = out.size();
    for (std::size_t j = begin; j < end; ++j)
      for (const char c : alphabet) out.push_back(out[j] + c);
    begin = end;
  }
  return out;
}

TEST(GrammarMarkup, AStringValueIsAnyTextWithoutTheClosingTag) {
  const auto g = arguments_grammar(R"({"type": "object", "properties": {"s": {"type": "string"}},
                                      "required": ["s"], "additionalProperties": false})");
  ASSERT_NE(g, nullptr);
  for (const std::string& value : all_strings("</v>x", 7)) {
    const bool holds_end = value.find("</v>") != std::string::npos;
    EXPECT_EQ(matches(g, "<k=s>" + value + "</v>;"), !holds_end) << value;
  }
  EXPECT_TRUE(matches(g, "<k=s>multi\nline é ✓ \"quoted\" {json} </w> <<v </v</v>;"));
  EXPECT_FALSE(matches(g, "<k=s>bad \xFF byte</v>;")) << "values are valid UTF-8";
  EXPECT_FALSE(matches(g, "")) << "s is required";
  EXPECT_FALSE(matches(g, "<k=s>a</v>;<k=s>b</v>;")) << "no parameter twice";
}

TEST(GrammarMarkup, CountedStringsEnumsAndFormatsAreRawText) {
  const auto g = arguments_grammar(R"({"type": "object", "properties": {
      "short": {"type": "string", "minLength": 2, "maxLength": 3},
      "mode": {"type": "string", "enum": ["a b", "x</v>y", "c"]},
      "day": {"type": "string", "format": "date"},
      "note": {"type": ["string", "null"]}}, "additionalProperties": false})");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(matches(g, "<k=short>abc</v>;"));
  EXPECT_TRUE(matches(g, "<k=short>é✓</v>;")) << "lengths count code points";
  EXPECT_FALSE(matches(g, "<k=short>a</v>;"));
  EXPECT_FALSE(matches(g, "<k=short>abcd</v>;"));
  EXPECT_TRUE(matches(g, "<k=mode>a b</v>;"));
  EXPECT_FALSE(matches(g, "<k=mode>\"c\"</v>;"));
  EXPECT_FALSE(matches(g, "<k=mode>x</v>y</v>;")) << "a value holding the closing tag cannot be written";
  EXPECT_TRUE(matches(g, "<k=day>2025-01-31</v>;"));
  EXPECT_FALSE(matches(g, "<k=day>\"2025-01-31\"</v>;"));
  EXPECT_TRUE(matches(g, "<k=note>null</v>;")) << "the string \"null\": the parser reads this type raw";
  EXPECT_TRUE(matches(g, "<k=short>ab</v>;<k=mode>c</v>;<k=day>2025-01-31</v>;<k=note></v>;"));
  EXPECT_FALSE(matches(g, "<k=mode>c</v>;<k=short>ab</v>;")) << "in the schema's order";
}

TEST(GrammarMarkup, OtherTypesAreJsonThatNeverWritesAClosingTag) {
  const auto g = arguments_grammar(R"({"type": "object", "properties": {
      "n": {"type": "integer", "minimum": 1},
      "flags": {"type": "array", "items": {"type": "string"}},
      "opts": {"type": "object", "properties": {"path": {"type": "string"}, "k": {"const": "a</v>"}}}},
    "additionalProperties": false})");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(matches(g, "<k=n>12</v>;"));
  EXPECT_FALSE(matches(g, "<k=n>0</v>;"));
  EXPECT_FALSE(matches(g, "<k=n>\"12\"</v>;"));
  EXPECT_TRUE(matches(g, R"(<k=flags>["a", "<b", "<\/v>", "<<x", "<"]</v>;)"));
  EXPECT_FALSE(matches(g, R"(<k=flags>["</v>"]</v>;)"));
  EXPECT_FALSE(matches(g, R"(<k=flags>["</x"]</v>;)")) << "no \"</\" at all inside JSON";
  EXPECT_TRUE(matches(g, R"(<k=opts>{"path": "/tmp", "k": "a<\/v>"}</v>;)")) << "consts escape it";
  EXPECT_FALSE(matches(g, R"(<k=opts>{"k": "a</v>"}</v>;)"));
}

TEST(GrammarMarkup, MixedTypesWriteStringsRawOnlyWhereTheyCannotReadAsJson) {
  const auto g = arguments_grammar(R"({"type": "object", "properties": {
      "v": {"type": ["string", "integer"]},
      "e": {"enum": ["x", "12", "true", " y", 3, null]}}, "additionalProperties": false})");
  ASSERT_NE(g, nullptr);
  for (const char* ok : {"<k=v>12</v>;", "<k=v>abc</v>;", "<k=v></v>;", "<k=v>\"quoted\"</v>;", "<k=v>é</v>;",
                         "<k=e>x</v>;", "<k=e> y</v>;", "<k=e>3</v>;", "<k=e>null</v>;"})
    EXPECT_TRUE(matches(g, ok)) << ok;
  for (const char* bad : {"<k=v>1a</v>;", "<k=v>true</v>;", "<k=v> x</v>;", "<k=v>[1]</v>;",
                          "<k=v>\xEF\xBB\xBF"
                          "1</v>;",
                          "<k=e>12</v>;", "<k=e>true</v>;", "<k=e>\"x\"</v>;"})
    EXPECT_FALSE(matches(g, bad)) << bad;
}

TEST(GrammarMarkup, ExtraParametersAreNamedApartFromTheListedOnes) {
  const auto g = arguments_grammar(
      R"({"type": "object", "properties": {"ab": {"type": "integer"}, "a": {"type": "integer"}},
                                      "additionalProperties": {"type": "boolean"}})");
  ASSERT_NE(g, nullptr);
  for (const std::string& name : all_strings("ab_", 4)) {
    if (name.empty()) continue;
    const bool listed = name == "a" || name == "ab";
    EXPECT_EQ(matches(g, "<k=" + name + ">true</v>;"), !listed) << name;
  }
  EXPECT_TRUE(matches(g, "<k=ab>1</v>;<k=a>2</v>;<k=x>false</v>;<k=y.z-1>true</v>;"));
  EXPECT_FALSE(matches(g, "<k=x>1</v>;")) << "extras follow additionalProperties";
  EXPECT_FALSE(matches(g, "<k=x y>true</v>;"));
  EXPECT_FALSE(matches(g, "<k=" + std::string(65, 'x') + ">true</v>;"));
  const auto closed =
      arguments_grammar(R"({"properties": {"a": {"type": "integer"}}, "additionalProperties": false})");
  EXPECT_FALSE(matches(closed, "<k=b>1</v>;"));
  EXPECT_TRUE(matches(closed, ""));
}

TEST(GrammarMarkup, WhatMarkupCannotHoldIsAnError) {
  GrammarBuilder b;
  EXPECT_FALSE(b.markup_arguments(ordered_json::parse(R"({"type": "array"})"), tiny_form()).ok());
  EXPECT_FALSE(b.markup_arguments(ordered_json::parse(R"({"properties": {"a>b": {"type": "string"}},
                                                         "required": ["a>b"]})"),
                                  tiny_form())
                   .ok());
  EXPECT_FALSE(
      b.markup_arguments(ordered_json::parse(R"({"properties": {"p": {"type": "string", "pattern": "x"}}})"),
                         tiny_form())
          .ok());
  EXPECT_FALSE(
      b.markup_arguments(
           ordered_json::parse(R"({"properties": {"p": {"type": "string", "enum": ["</v>"]}}})"), tiny_form())
          .ok());
}

TEST(GrammarControlToken, AMarkerIsItsTextOrItsControlTokenNeverAMix) {
  GrammarBuilder b;
  const std::vector<std::string> tokens = {"<|end|>", "[ARGS]"};
  const auto g = b.build(b.text_with_tokens("f[ARGS]{}<|end|>", tokens));
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(matches(g, "f[ARGS]{}<|end|>"));
  EXPECT_TRUE(matches(g, "f" + control_token_bytes("[ARGS]") + "{}" + control_token_bytes("<|end|>")));
  EXPECT_FALSE(matches(g, "f" + control_token_bytes("[ARG") + "S]{}<|end|>"));
  EXPECT_FALSE(matches(g, "f" + control_token_bytes("<|end|>") + "{}<|end|>"));
  const auto f = b.build(b.literal("f"));
  EXPECT_FALSE(matches(f, control_token_bytes("f")));

  // Ordinary tokens holding the mark byte are never allowed; control tokens carry their text.
  EXPECT_EQ(grammar_token_bytes("ab", "", false), "ab");
  EXPECT_EQ(grammar_token_bytes(std::string("a\xFF"), "", false), "");
  EXPECT_EQ(grammar_token_bytes("", "<|end|>", true), control_token_bytes("<|end|>"));
}

}  // namespace
}  // namespace pensieve::grammar
