// Dict literals with non-string keys, as Python holds them: keys keep their type, match by
// Python's == (1, 1.0 and True are one key) and sort as numbers.
#include "test_util.hpp"

namespace pensieve::jinja::testing {
namespace {

TEST(JinjaDictKeys, IntegerKeysSortAsNumbers) {
  // As strings, '10' would sort before '2'.
  EXPECT_EQ(render_text("{{ {1: 'a', 10: 'b', 2: 'c'}|dictsort }}"), "[(1, 'a'), (2, 'c'), (10, 'b')]");
  EXPECT_EQ(render_text("{{ {1: 'a', 10: 'b', 2: 'c'}|dictsort(reverse=true) }}"),
            "[(10, 'b'), (2, 'c'), (1, 'a')]");
  EXPECT_EQ(render_text("{{ {1.5: 'a', -3: 'b', true: 'c'}|dictsort }}"),
            "[(-3, 'b'), (True, 'c'), (1.5, 'a')]");
  EXPECT_EQ(render_text("{{ {3: 'x', 1: 'y'}|sort }} {{ {3: 'x', 1: 'y'}|max }}"), "[1, 3] 3");
}

TEST(JinjaDictKeys, ItemsKeysAndIterationKeepTheKeyType) {
  // k + 1 is arithmetic only if the key is still an integer.
  EXPECT_EQ(
      render_text("{% for k, v in {1: 'a', 10: 'b', 2: 'c'}.items() %}{{ k + 1 }}={{ v }};{% endfor %}"),
      "2=a;11=b;3=c;");
  EXPECT_EQ(
      render_text("{% for k in {1: 'a', 2: 'b'} %}{{ k * 10 }} {% endfor %}|{{ {1: 'a', 2: 'b'}|list }}|"
                  "{{ {1: 'a', 2: 'b'}.keys()|sum }}|{{ {1: 'a'}|items|list }}"),
      "10 20 |[1, 2]|3|[(1, 'a')]");
}

TEST(JinjaDictKeys, LookupsMatchByPythonEquality) {
  const std::string set = "{% set d = {1: 'a', 2: 'b', 'k': 'v'} %}";
  EXPECT_EQ(render_text(set + "{{ d[1] }}{{ d[1.0] }}{{ d[true] }}{{ d.1 }}|{{ d['1'] is defined }}"),
            "aaaa|False");
  EXPECT_EQ(render_text(set + "{{ 1 in d }} {{ 2.0 in d }} {{ '1' in d }} {{ 3 in d }} {{ 'k' in d }}"),
            "True True False False True");
  EXPECT_EQ(render_text(set + "{{ d.get(2) }} {{ d.get(3, 'x') }} {{ d.get('k') }} {{ d.k }}"), "b x v v");
  EXPECT_EQ(render_text("{{ {(1, 2): 'pair'}[(1, 2)] }} {{ {none: 'n'}[none] }}"), "pair n");
  EXPECT_NE(render_error(set + "{{ d[5] + 1 }}").find("'dict object' has no element 5"), std::string::npos);
}

TEST(JinjaDictKeys, EqualKeysMergeKeepingTheFirstKey) {
  EXPECT_EQ(render_text("{{ {1: 'a', 1.0: 'b', true: 'c'} }}"), "{1: 'c'}");
  EXPECT_EQ(render_text("{{ {1: 'a', '1': 'b', none: 'n', 1.5: 'f', (1, 2): 't', false: 0} }}"),
            "{1: 'a', '1': 'b', None: 'n', 1.5: 'f', (1, 2): 't', False: 0}");
  EXPECT_EQ(render_text("{{ {1: 'a'} == {1.0: 'a'} }} {{ {1: 'a'} == {'1': 'a'} }}"), "True False");
  EXPECT_EQ(render_text("{{ dict({1: 'a'}, b=2) }}"), "{1: 'a', 'b': 2}");
}

TEST(JinjaDictKeys, UnhashableKeysFailAsInPython) {
  EXPECT_NE(render_error("{{ {[1]: 2} }}").find("unhashable type: 'list'"), std::string::npos);
  EXPECT_NE(render_error("{{ {{}: 2} }}").find("unhashable type: 'dict'"), std::string::npos);
  EXPECT_NE(render_error("{{ {(1, [2]): 3} }}").find("unhashable type: 'list'"), std::string::npos);
  EXPECT_NE(render_error("{{ [1] in {} }}").find("unhashable type: 'list'"), std::string::npos);
  EXPECT_NE(render_error("{{ {}.get([1]) }}").find("unhashable type: 'list'"), std::string::npos);
  // Subscripting swallows the TypeError into Undefined, as Jinja2's getitem does.
  EXPECT_EQ(render_text("{{ {}[[1]] is defined }}"), "False");
  // Keys that do not order against each other fail only when sorted.
  EXPECT_NE(render_error("{{ {1: 'a', 'b': 2}|dictsort }}").find("'<' not supported"), std::string::npos);
}

TEST(JinjaDictKeys, TojsonWritesScalarKeysAsJsonDumpsDoes) {
  EXPECT_EQ(render_text("{{ {2: 'a', true: 'b', none: 'c', 1.5: 'd', 'k': 'e'}|tojson }}"),
            R"({"2": "a", "true": "b", "null": "c", "1.5": "d", "k": "e"})");
  // Sorted as numbers before they become strings: "10" after "9".
  EXPECT_EQ(render_text("{{ {10: 'a', 9: 'b'}|tojson(sort_keys=true) }}"), R"({"9": "b", "10": "a"})");
  EXPECT_NE(render_error("{{ {1: 'a', 'b': 2}|tojson(sort_keys=true) }}").find("'<' not supported"),
            std::string::npos);
  EXPECT_NE(render_error("{{ {(1, 2): 'a'}|tojson }}")
                .find("keys must be str, int, float, bool or None, not tuple"),
            std::string::npos);
}

}  // namespace
}  // namespace pensieve::jinja::testing
