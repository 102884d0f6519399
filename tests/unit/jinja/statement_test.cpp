// Statements: if/elif/else, for with loop.* and else, loop controls, set (plain, tuple, block,
// namespace attribute), macros with defaults/varargs/kwargs, call blocks, filter and with blocks,
// and Jinja2's scoping (a for body is its own scope; if is not).
#include "test_util.hpp"

namespace pensieve::jinja::testing {
namespace {

TEST(JinjaStatement, IfElifElse) {
  const std::string t = "{% if x > 2 %}big{% elif x > 1 %}mid{% else %}small{% endif %}";
  EXPECT_EQ(render_text(t, R"({"x": 3})"), "big");
  EXPECT_EQ(render_text(t, R"({"x": 2})"), "mid");
  EXPECT_EQ(render_text(t, R"({"x": 0})"), "small");
}

TEST(JinjaStatement, LoopVariables) {
  EXPECT_EQ(
      render_text("{% for x in [1,2,3] %}{{ loop.index }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}"
                  "{{ loop.length }}{{ loop.cycle('a','b') }} {% endfor %}"),
      "12TrueFalse3a 21FalseFalse3b 30FalseTrue3a ");
  EXPECT_EQ(render_text("{% for m in msgs %}{{ loop.previtem.r if loop.previtem }}-"
                        "{{ loop.nextitem.r if loop.nextitem else 'END' }};{% endfor %}",
                        R"({"msgs": [{"r": "a"}, {"r": "b"}, {"r": "c"}]})"),
            "-b;a-c;b-END;");
}

TEST(JinjaStatement, LoopFilterElseAndUnpacking) {
  EXPECT_EQ(render_text("{% for x in [1,2,3,4] if x is odd %}{{ x }}{{ loop.index }}/{{ loop.length }} "
                        "{% else %}none{% endfor %}|{% for x in [] %}a{% else %}empty{% endfor %}"),
            "11/2 32/2 |empty");
  EXPECT_EQ(render_text("{% for k, v in {'x': 1, 'y': 2}.items() %}{{ k }}={{ v }};{% endfor %}"
                        "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}"),
            "x=1;y=2;37");
  EXPECT_EQ(render_text("{% for k in d %}{{ k }}{% endfor %}{% for c in 'h\u00e9' %}[{{ c }}]{% endfor %}",
                        R"({"d": {"b": 1, "a": 2}})"),
            "ba[h][\u00e9]");
  EXPECT_FALSE(try_render("{% for a, b in [[1, 2, 3]] %}{% endfor %}").ok());
  EXPECT_NE(render_error("{% for x in none %}{% endfor %}").find("'NoneType' object is not iterable"),
            std::string::npos);
}

TEST(JinjaStatement, BreakAndContinue) {
  EXPECT_EQ(render_text("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}"
                        "{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
            "0134");
}

TEST(JinjaStatement, ForBodyIsItsOwnScope) {
  EXPECT_EQ(render_text("{% set x = 5 %}{% for i in [1,2] %}{{ x }}{% set x = i %}{{ x }}{% endfor %}{{ x }}"
                        "{% if true %}{% set x = 9 %}{% endif %}{{ x }}"),
            "515259");
  EXPECT_EQ(render_text("{% for i in [1,2] %}{% if i == 2 %}[{{ x }}]{% endif %}{% set x = i %}{% endfor %}"),
            "[]");
}

TEST(JinjaStatement, NamespaceCarriesStateOutOfLoops) {
  EXPECT_EQ(
      render_text(
          "{% set ns = namespace(a=1, b=[]) %}{% for i in range(3) %}{% set ns.a = ns.a * 2 %}"
          "{% endfor %}{{ ns.a }} {{ ns.b }} {% set ns2 = namespace() %}{% set ns2.x = 'y' %}{{ ns2.x }}"),
      "8 [] y");
  EXPECT_FALSE(try_render("{% set d = {} %}{% set d.x = 1 %}").ok());
}

TEST(JinjaStatement, SetForms) {
  EXPECT_EQ(
      render_text("{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set x %}  block {{ 1 + 1 }} {% endset %}[{{ x }}]"
                  "{% set y | upper %}abc{% endset %}{{ y }}"),
      "12|[  block 2 ]ABC");
}

TEST(JinjaStatement, MacrosWithDefaultsVarargsAndKwargs) {
  EXPECT_EQ(render_text("{% macro m(a, b='d', c=none) %}[{{ a }}|{{ b }}|{{ c }}|{{ varargs }}|{{ kwargs }}]"
                        "{% endmacro %}{{ m(1) }}{{ m(1, 2, 3) }}{{ m(1, c=5) }}{{ m(1,2,3,4, z=1) }}"),
            "[1|d|None|()|{}][1|2|3|()|{}][1|d|5|()|{}][1|2|3|(4,)|{'z': 1}]");
  EXPECT_EQ(render_text("{% macro f() -%}\n  inner\n{%- endmacro %}\n[{{ f() }}]"), "[inner]");
}

TEST(JinjaStatement, MacrosRecurseAndSeeTopLevelVariables) {
  EXPECT_EQ(render_text("{% macro count(n) %}{% if n > 0 %}{{ n }}{{ count(n - 1) }}{% endif %}{% endmacro %}"
                        "{% set sep = '-' %}{% macro s() %}{{ sep }}{% endmacro %}{{ count(3) }}{{ s() }}"),
            "321-");
}

TEST(JinjaStatement, CallBlocksPassCaller) {
  EXPECT_EQ(
      render_text(
          "{% macro wrap(x) %}<{{ caller(x) }}>{% endmacro %}{% call(v) wrap(5) %}got {{ v }}{% endcall %}"),
      "<got 5>");
}

TEST(JinjaStatement, FilterWithAndGenerationBlocks) {
  EXPECT_EQ(render_text("{% filter upper %}hello {{ 'w' }}{% endfilter %}|{% with q = 5, r = 6 %}{{ q + r }}"
                        "{% endwith %}{{ q is defined }}|{% generation %}kept{% endgeneration %}"),
            "HELLO W|11False|kept");
}

TEST(JinjaStatement, RaiseExceptionFailsWithItsMessageAndLine) {
  const std::string message =
      render_error("ok\n{% if true %}\n{{ raise_exception('System role not supported') }}\n{% endif %}");
  EXPECT_NE(message.find("System role not supported"), std::string::npos) << message;
  EXPECT_NE(message.find("line 3"), std::string::npos) << message;
}

TEST(JinjaStatement, SandboxForbidsMutatingListsAndDicts) {
  EXPECT_NE(render_error("{% set l = [] %}{% set _ = l.append(1) %}")
                .find("access to attribute 'append' of 'list'"),
            std::string::npos);
  EXPECT_NE(render_error("{{ {'a': 1}.pop('a') }}").find("unsafe"), std::string::npos);
  EXPECT_EQ(render_text("{{ [].append is defined }}"), "False");
}

TEST(JinjaStatement, StrftimeNowUsesTheInjectedClock) {
  RenderOptions options;
  options.clock = [] { return std::time_t{1795343400}; };  // 2026-11-22 10:30:00 UTC
  options.utc = true;
  auto out = try_render(
      "{{ strftime_now('%Y-%m-%d') }}|{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B %d, %Y') }}", "{}",
      options);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->text, "2026-11-22|22 Nov 2026|November 22, 2026");
}

}  // namespace
}  // namespace pensieve::jinja::testing
