// Expressions: literals, operators with Jinja2's precedence and Python's semantics, attribute
// and item access, slicing, and how values print (str/repr as Python writes them).
#include "test_util.hpp"

namespace pensieve::jinja::testing {
namespace {

TEST(JinjaExpression, ArithmeticFollowsPython) {
  EXPECT_EQ(
      render_text(
          "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** -1 }} "
          "{{ 10 / 4 }} {{ 4 / 2 }} {{ 3 * 'ab' }} {{ [0] * 3 }} {{ 1 + 2.5 }} {{ true + 1 }} {{ 2 ** 10 }}"),
      "3 -4 2 3.0 0.5 0.5 2.5 2.0 ababab [0, 0, 0] 3.5 2 1024");
}

TEST(JinjaExpression, PrecedenceOfFiltersTestsConcatAndMath) {
  EXPECT_EQ(render_text("{{ '\\n' + x | trim + '\\n' }}", R"({"x": "  a  "})"), "\na\n");
  EXPECT_EQ(
      render_text(
          "{{ '1' + 2 ~ 3 }}|{{ 2 * 3 ~ 1 }}|{{ not x is defined }}|{{ -2|abs }}|{{ [1,2]|length > 1 }}"),
      "123|61|True|2|True");
}

TEST(JinjaExpression, BooleanOperatorsReturnOperands) {
  EXPECT_EQ(render_text("{{ not 0 }} {{ 0 or 'x' }} {{ '' and 1 }} {{ none or [] }} {{ 'a' and 'b' }}"),
            "True x  [] b");
  EXPECT_EQ(render_text("{{ m.get('name') or m['role'] }}", R"({"m": {"role": "user"}})"), "user");
}

TEST(JinjaExpression, ComparisonAndMembership) {
  EXPECT_EQ(
      render_text(
          "{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1,2] < [1,3] }} {{ 'ell' in 'hello' }} "
          "{{ 2 in [1,2] }} {{ 'a' in {'a': 1} }} {{ 'b' not in {'a': 1} }} {{ 'x' in undefined_thing }}"),
      "True True True True True True True True False");
  EXPECT_EQ(render_text("{{ x == y }} {{ x != y }} {{ none == none }}",
                        R"({"x": {"a": 1, "b": [1]}, "y": {"b": [1], "a": 1}})"),
            "True False True");
}

TEST(JinjaExpression, ConditionalExpressions) {
  EXPECT_EQ(
      render_text("{{ 'x' if false }}|{{ 'a' if true else 'b' }}|{{ 1 if none else 2 if false else 3 }}|"
                  "{{ ('x' if false) is defined }}"),
      "|a|3|False");
}

TEST(JinjaExpression, LiteralsAndStringEscapes) {
  EXPECT_EQ(
      render_text(
          "{{ \"a\" \"b\" 'c' }} {{ 1_000 }} {{ 1e3 }} {{ 0.5e-3 }} {{ 'a\\\\d\\u00e9\\x41' }} {{ True }}"),
      "abc 1000 1000.0 0.0005 a\\déA True");
  EXPECT_EQ(render_text("{{ '{{' }} {{ '}}' }} {{ {'a': {'b': 1}} }}"), "{{ }} {'a': {'b': 1}}");
}

TEST(JinjaExpression, PrintsValuesAsPythonStrAndRepr) {
  EXPECT_EQ(render_text("{{ x }}|{{ [x] }}", R"({"x": "it's \"q\" \\ \n\t\u00e9\u200b\u00a0"})"),
            "it's \"q\" \\ \n\t\u00e9\u200b\u00a0|['it\\'s \"q\" \\\\ \\n\\t\u00e9\\u200b\\xa0']");
  EXPECT_EQ(
      render_text("{{ [1.0, -0.0, 1e16, 1e-5, 123.456, 1.5e300, 2**62, none, true] }} {{ (1,) }} {{ () }}"),
      "[1.0, -0.0, 1e+16, 1e-05, 123.456, 1.5e+300, 4611686018427387904, None, True] (1,) ()");
  EXPECT_EQ(render_text("{{ 0.1 + 0.2 }} {{ 1/3 }} {{ 1e-7 }} {{ 12345678901234567.0 }} {{ 1e15 }}"),
            "0.30000000000000004 0.3333333333333333 1e-07 1.2345678901234568e+16 1000000000000000.0");
  EXPECT_EQ(render_text("{{ {'it\\'s': [\"a\"]} }}"), "{\"it's\": ['a']}");
}

TEST(JinjaExpression, AttributeAndItemAccess) {
  const std::string ctx = R"({"x": {"a": [1, {"b": null}], "items": 1, "type": "t"}, "s": "hello"})";
  EXPECT_EQ(render_text("{{ x.a[1].b is none }} {{ x['a'][0] }}{{ x.a.0 }} {{ x.type }} {{ x['items'] }} "
                        "{{ x.items is callable }} {{ x.missing is defined }} {{ none.x is defined }}",
                        ctx),
            "True 11 t 1 True False False");
  EXPECT_EQ(render_text("{{ s[0] }} {{ s[-1] }} {{ s[10] is defined }} {{ x.a[5] is defined }}", ctx),
            "h o False False");
}

TEST(JinjaExpression, SlicingWithNegativeSteps) {
  EXPECT_EQ(
      render_text(
          "{{ [1,2,3,4,5][::-1] }} {{ [1,2,3,4,5][::2] }} {{ [1,2,3,4,5][-2:] }} {{ [1,2,3,4,5][1:-1] }} "
          "{{ 'h\u00e9llo'[1:3] }} {{ 'abcdef'[5:1:-2] }} {{ [1,2,3][10:] }} {{ 'abc'[::-1] }}"),
      "[5, 4, 3, 2, 1] [1, 3, 5] [4, 5] [2, 3, 4] \u00e9l fd [] cba");
}

TEST(JinjaExpression, TypeErrorsFailLikePython) {
  EXPECT_NE(render_error("{{ 'a' + [1] }}").find("can only concatenate str (not \"list\") to str"),
            std::string::npos);
  EXPECT_NE(render_error("{{ 1 in 'abc' }}").find("requires string as left operand"), std::string::npos);
  EXPECT_NE(render_error("{{ 'abc' < 1 }}").find("not supported"), std::string::npos);
  EXPECT_NE(render_error("{{ 'a' in none }}").find("'NoneType' is not iterable"), std::string::npos);
  EXPECT_NE(render_error("{{ 1 // 0 }}").find("by zero"), std::string::npos);
  EXPECT_NE(render_error("{{ [1] + (2,) }}").find("can only concatenate list"), std::string::npos);
}

TEST(JinjaExpression, UndefinedPrintsEmptyButFailsWhenUsed) {
  EXPECT_EQ(render_text("[{{ u }}]{{ 'x' ~ u }}|{{ u|length }}|{{ u|list }}|{% for a in u %}n{% endfor %}|"
                        "{{ u is iterable }}|{{ u is defined }}|{{ u == u }}"),
            "[]x|0|[]||True|False|True");
  EXPECT_NE(render_error("{{ foo.bar }}").find("'foo' is undefined"), std::string::npos);
  EXPECT_NE(render_error("{{ foo + 1 }}").find("'foo' is undefined"), std::string::npos);
  EXPECT_NE(render_error("{{ foo[0] }}").find("'foo' is undefined"), std::string::npos);
  EXPECT_NE(render_error("{{ foo() }}").find("'foo' is undefined"), std::string::npos);
  EXPECT_NE(render_error("{{ x.y.z }}", R"({"x": {}})").find("'dict object' has no attribute 'y'"),
            std::string::npos);
}

TEST(JinjaExpression, SyntaxErrorsNameTheLine) {
  auto bad = Template::parse("line one\n{% if x %}\n{{ 1 + }}\n{% endif %}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("line 3"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(Template::parse("{% if x %}never closed").ok());
  EXPECT_FALSE(Template::parse("{{ x | no_such_filter }}").ok());
  EXPECT_FALSE(Template::parse("{{ x is no_such_test }}").ok());
  EXPECT_FALSE(Template::parse("{% unknown %}").ok());
  EXPECT_FALSE(Template::parse("{{ 'unterminated }}").ok());
  EXPECT_FALSE(Template::parse("{{ x").ok());
  EXPECT_FALSE(Template::parse("{# open comment").ok());
}

}  // namespace
}  // namespace pensieve::jinja::testing
