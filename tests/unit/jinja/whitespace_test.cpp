// Whitespace control as Hugging Face renders chat templates: trim_blocks and lstrip_blocks on,
// `-` strips all whitespace on its side, `+` keeps lstrip off for one tag. Expected strings
// are what Jinja2 3.1 produces for the same source.
#include "test_util.hpp"

namespace pensieve::jinja::testing {
namespace {

TEST(JinjaWhitespace, TrimBlocksDropsTheNewlineAfterABlockTagOnly) {
  EXPECT_EQ(render_text("{% if true %}\nx\n{% endif %}\ny"), "x\ny");
  EXPECT_EQ(render_text("{{ 'a' }}\n{{ 'b' }}\n\n"), "a\nb\n");
}

TEST(JinjaWhitespace, LstripBlocksRemovesIndentBeforeBlockTagsAtLineStart) {
  EXPECT_EQ(render_text("line1\n    {% for i in [1,2] %}\n    item{{ i }}\n    {% endfor %}\nend"),
            "line1\n    item1\n    item2\nend");
  // Not at a line start: the spaces stay.
  EXPECT_EQ(render_text("x  {% if true %}{% endif %}|"), "x  |");
  EXPECT_EQ(render_text("{% if true %}  {% endif %}|"), "  |");
  // Not for output tags.
  EXPECT_EQ(render_text("a\n  {{ 1 }}\n{# c #}\nb"), "a\n  1\nb");
}

TEST(JinjaWhitespace, MinusStripsAllWhitespaceIncludingNewlines) {
  EXPECT_EQ(render_text("a  {{- 1 -}}  b {{ 2 }}\nc"), "a1b 2\nc");
  EXPECT_EQ(render_text("{% if true %}\nx\n{% endif %}\ny\n  {%- if true %}  z  {% endif -%}\n w"),
            "x\ny  z  w");
}

TEST(JinjaWhitespace, PlusKeepsIndentAndCommentsBehaveLikeBlocks) {
  EXPECT_EQ(render_text("e {%+ if true %}f{% endif %}\n  {# c #}\ng"), "e fg");
  EXPECT_EQ(render_text("  {%+ if true %}f{% endif %}"), "  f");
  EXPECT_EQ(render_text("c {#- comment -#} d"), "cd");
}

TEST(JinjaWhitespace, StrippedTagFollowedByIndentedTagDoesNotOverrun) {
  // The text between the tags is stripped away entirely before lstrip looks at it.
  EXPECT_EQ(render_text("{%- if true -%}\n  {% if true %}x{% endif %}{% endif %}"), "x");
}

TEST(JinjaWhitespace, RawBlocksAreNotParsed) {
  EXPECT_EQ(render_text("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
  EXPECT_EQ(render_text("{%- raw -%}\n  {{ raw }}\n{%- endraw -%}\nafter"), "{{ raw }}after");
}

}  // namespace
}  // namespace pensieve::jinja::testing
