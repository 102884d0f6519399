// Unknown filters and tests, as Jinja2 3 treats them: a compile error, except inside an
// {% if %} or a conditional expression, where only evaluating them fails.
#include "test_util.hpp"

namespace pensieve::jinja::testing {
namespace {

TEST(JinjaDeferredNames, AGuardedUnknownFilterRendersUntilReached) {
  const std::string guarded = "{% if x is defined %}{{ x|from_json }}{% else %}none{% endif %}";
  EXPECT_EQ(render_text(guarded), "none");
  const std::string error = render_error("line 1\n" + guarded, R"({"x": "[1]"})");
  EXPECT_NE(error.find("line 2"), std::string::npos) << error;
  EXPECT_NE(error.find("No filter named 'from_json' found."), std::string::npos) << error;

  EXPECT_EQ(render_text("{% if 'from_json' is filter %}{{ x|from_json }}{% else %}{{ x }}{% endif %}",
                        R"({"x": "[1]"})"),
            "[1]");
  EXPECT_EQ(render_text("{% if false %}{% elif false %}{{ 1|a }}{% else %}{% if true %}{% endif %}ok"
                        "{% endif %}"),
            "ok");
  // The condition itself is deferred too, and fails when evaluated.
  EXPECT_NE(render_error("{% if x|b %}{% endif %}").find("No filter named 'b' found."), std::string::npos);
}

TEST(JinjaDeferredNames, UnknownTestsAndConditionalExpressions) {
  EXPECT_EQ(render_text("{% if x is defined and x is jsonish %}j{% endif %}."), ".");
  EXPECT_NE(render_error("{% if x is defined and x is jsonish %}j{% endif %}", R"({"x": 1})")
                .find("No test named 'jsonish' found."),
            std::string::npos);
  EXPECT_EQ(render_text("{{ (y|from_json) if false else 'fine' }}"), "fine");
  EXPECT_EQ(render_text("{% for m in (x|nope if x else []) %}{% endfor %}done"), "done");
  EXPECT_NE(render_error("{{ 'a' if x|nope else 'b' }}").find("No filter named 'nope' found."),
            std::string::npos);
}

TEST(JinjaDeferredNames, FreshFramesInsideAnIfAreCheckedAtParse) {
  // Jinja2 compiles these bodies in a new frame, where the if's leniency does not reach.
  for (const char* source : {
           "{{ x|from_json }}",
           "{{ x is jsonish }}",
           "{% set y = x|nope %}",
           "{% if c %}{% for m in [1] %}{{ m|nope }}{% endfor %}{% endif %}",
           "{% if c %}{% for m in [1] if m|nope %}{% endfor %}{% endif %}",
           "{% if c %}{% for m in [] %}{% else %}{{ 1|nope }}{% endfor %}{% endif %}",
           "{% if c %}{% macro f() %}{{ 1|nope }}{% endmacro %}{% endif %}",
           "{% if c %}{% macro f(a=1|nope) %}{% endmacro %}{% endif %}",
           "{% if c %}{% filter nope %}x{% endfilter %}{% endif %}",
           "{% if c %}{% set s | nope %}x{% endset %}{% endif %}",
           "{% if c %}{% set s %}{{ 1|nope }}{% endset %}{% endif %}",
           "{% if c %}{% with a = 1 %}{{ a|nope }}{% endwith %}{% endif %}",
           "{% if c %}{% generation %}{{ 1|nope }}{% endgeneration %}{% endif %}",
       }) {
    auto parsed = Template::parse(source);
    ASSERT_FALSE(parsed.ok()) << source;
    EXPECT_NE(parsed.error().message.find("named '"), std::string::npos) << parsed.error().message;
  }
  // What stays in the if's own frame is deferred: a for's iterable, with's values, a call's arguments.
  for (const char* source : {
           "{% if c %}{% for m in x|nope %}{% endfor %}{% endif %}",
           "{% if c %}{% with a = x|nope %}{% endwith %}{% endif %}",
           "{% macro f(a) %}{% endmacro %}{% if c %}{% call f(x|nope) %}{% endcall %}{% endif %}",
           "{% if c %}{% set y = x|nope %}{% endif %}",
       }) {
    EXPECT_EQ(render_text(source), "") << source;
  }
}

TEST(JinjaDeferredNames, FilterAndTestNamesPassedAsArgumentsFailWhenApplied) {
  EXPECT_EQ(render_text("{{ []|map('nope')|list }} {{ []|select('nope')|list }}"), "[] []");
  EXPECT_NE(render_error("{{ [1]|map('nope')|list }}").find("No filter named 'nope'."), std::string::npos);
  EXPECT_NE(render_error("{{ [1]|select('nope')|list }}").find("No test named 'nope'."), std::string::npos);
}

}  // namespace
}  // namespace pensieve::jinja::testing
