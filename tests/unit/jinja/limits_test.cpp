// A template can never run forever, exhaust memory or the native stack: steps, output size and
// call depth are limited, deep nesting is refused, and every failure names the template line.
#include "test_util.hpp"

namespace pensieve::jinja::testing {
namespace {

TEST(JinjaLimits, InfiniteLikeLoopsHitTheStepLimit) {
  RenderOptions options;
  options.max_steps = 100'000;
  auto out =
      try_render("{% for i in range(100000000) %}{% for j in range(100000000) %}{% endfor %}{% endfor %}",
                 "{}", options);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kInternal);
  EXPECT_NE(out.error().message.find("steps"), std::string::npos) << out.error().message;
}

TEST(JinjaLimits, DoublingStringsHitTheOutputLimit) {
  RenderOptions options;
  options.max_output_bytes = 1 << 20;
  auto out = try_render(
      "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "{}",
      options);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kInternal);
  auto repeated = try_render("{{ 'abc' * 1000000000000 }}", "{}", options);
  ASSERT_FALSE(repeated.ok());
  EXPECT_EQ(repeated.error().code, ErrorCode::kInternal);
  auto printed = try_render(
      "{% for i in range(100000) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}{% endfor %}", "{}",
      options);
  ASSERT_FALSE(printed.ok());
  EXPECT_EQ(printed.error().code, ErrorCode::kInternal);
}

TEST(JinjaLimits, QuadraticStringBuildingPaysForItsBytes) {
  // Each iteration copies the whole string: bytes count as steps, so this stops long before
  // it could copy gigabytes, although the string itself stays under the output limit.
  RenderOptions options;
  options.max_steps = 300'000;
  auto out = try_render(
      "{% set ns = namespace(s='') %}{% for i in range(1000000) %}"
      "{% set ns.s = ns.s + 'xxxxxxxxxx' %}{% endfor %}{{ ns.s|length }}",
      "{}", options);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("steps"), std::string::npos) << out.error().message;
}

TEST(JinjaLimits, WalkingLargeValuesPaysForTheirSize) {
  // A thousand operations, each on a megabyte string or a 100k-item list: counted as single
  // steps they would pass a 200k-step limit easily; paying for their size they cannot.
  RenderOptions options;
  options.max_steps = 200'000;
  const std::string setup = "{% set s = 'x' * 1000000 %}{% set l = range(100000) %}";
  auto baseline =
      try_render(setup + "{% for i in range(1000) %}{% set c = i %}{% endfor %}ok", "{}", options);
  ASSERT_TRUE(baseline.ok()) << baseline.error().message;
  for (const char* body :
       {"{% set c = s[i] %}", "{% set c = 'y' in s %}", "{% set c = s|length %}",
        "{% set c = s.startswith('x') %}", "{% set c = 5 in l %}", "{% set c = l[1:] %}"}) {
    auto out = try_render(setup + "{% for i in range(1000) %}" + body + "{% endfor %}", "{}", options);
    ASSERT_FALSE(out.ok()) << body;
    EXPECT_NE(out.error().message.find("steps"), std::string::npos) << body << ": " << out.error().message;
  }
}

TEST(JinjaLimits, UnboundedRecursionHitsTheCallDepthLimit) {
  auto out = try_render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kInternal);
  EXPECT_NE(out.error().message.find("nested"), std::string::npos) << out.error().message;
}

TEST(JinjaLimits, DeeplyNestedSourceIsRefusedNotOverflowed) {
  const std::string parens = "{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}";
  EXPECT_FALSE(Template::parse(parens).ok());
  std::string ifs;
  for (int i = 0; i < 10000; ++i) ifs += "{% if true %}";
  EXPECT_FALSE(Template::parse(ifs).ok());
  std::string nots = "{{ ";
  for (int i = 0; i < 100000; ++i) nots += "not ";
  EXPECT_FALSE(Template::parse(nots + "1 }}").ok());
}

TEST(JinjaLimits, DeeplyNestedValuesAreRefused) {
  auto out = try_render(
      "{% set ns = namespace(v=[]) %}{% for i in range(5000) %}{% set ns.v = [ns.v] %}{% endfor %}"
      "{{ ns.v }}");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kInternal);
}

TEST(JinjaLimits, RuntimeErrorsNameTheLine) {
  const std::string message = render_error("a\nb\n{{ 'x' + 1 }}");
  EXPECT_NE(message.find("line 3"), std::string::npos) << message;
  const std::string in_macro = render_error("{% macro m() %}\n\n{{ none.x.y + 1 }}{% endmacro %}\n{{ m() }}");
  EXPECT_NE(in_macro.find("line 3"), std::string::npos) << in_macro;
}

TEST(JinjaLimits, TrailingNewlineIsDroppedAndLineEndingsNormalized) {
  EXPECT_EQ(render_text("x\n"), "x");
  EXPECT_EQ(render_text("x\n\n"), "x\n");
  EXPECT_EQ(render_text("a\r\nb\r\n"), "a\nb");
}

TEST(JinjaLimits, ContextMustBeAnObject) {
  auto tmpl = Template::parse("x");
  ASSERT_TRUE(tmpl.ok());
  EXPECT_FALSE(render(*tmpl, nlohmann::ordered_json::array(), RenderOptions{}).ok());
}

}  // namespace
}  // namespace pensieve::jinja::testing
