// grammar/builder: assembles grammars from parts, so that a tool call in a model family's own
// syntax is literal text around JSON whose shape a JSON Schema gives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "grammar/byte_set.hpp"
#include "grammar/expr.hpp"
#include "grammar/grammar.hpp"

namespace pensieve::grammar {

namespace detail {
template <class Json>
class SchemaCompiler;
}

// Whitespace between JSON tokens is bounded so that a weak model cannot loop on it forever: at
// most one line break ("\n" or "\r\n") followed by at most this many spaces or tabs.
inline constexpr std::size_t kMaxIndent = 16;

class GrammarBuilder {
 public:
  // An element of the grammar being built; only meaningful to the builder that made it.
  struct Rule {
    std::uint32_t index = 0;
  };

  GrammarBuilder();

  Rule literal(std::string_view bytes);
  Rule bytes(const ByteSet& set);  // any one byte of the set
  Rule empty();
  // Any value valid for the schema (the subset of JSON Schema 2020-12 in json_schema.cpp's
  // header comment). The error names an unsupported keyword and its JSON pointer.
  // Properties are generated in the order the schema lists them: nlohmann::json sorts object
  // keys, so parse tool schemas as ordered_json to keep the order their authors chose.
  Result<Rule> json_schema(const nlohmann::json& schema);
  Result<Rule> json_schema(const nlohmann::ordered_json& schema);
  Rule any_json();  // any JSON value
  // A JSON string of min..max characters (code points; an escape counts as one).
  Rule json_string(std::size_t min_chars = 0, std::optional<std::size_t> max_chars = std::nullopt);
  // One of the byte strings, as a trie so that matching never holds several alternatives open.
  Rule literal_set(std::vector<std::string> strings);
  Rule sequence(std::vector<Rule> parts);
  Rule alternatives(std::vector<Rule> choices);
  Rule repeat(Rule r, std::size_t min, std::optional<std::size_t> max);
  Rule optional(Rule r) { return repeat(r, 0, 1); }
  Rule optional_whitespace();  // JSON whitespace, bounded (kMaxIndent)

  // Named rules are how a grammar recurses: declare, refer to with call(), define once.
  std::uint32_t declare(std::string name);
  void define(std::uint32_t rule, Rule body);
  Rule call(std::uint32_t rule);

  // The compiled grammar; nullptr only where try_build() reports an error, which cannot happen
  // for rules made of the parts above and successful json_schema() calls, except when bounded
  // repeats make the grammar too large.
  std::shared_ptr<const Grammar> build(Rule root);
  Result<std::shared_ptr<const Grammar>> try_build(Rule root);

 private:
  template <class Json>
  friend class detail::SchemaCompiler;
  Rule add(detail::Expr e);
  Rule shared_rule(std::optional<std::uint32_t>& slot, const char* name, Rule (GrammarBuilder::*make)());
  Rule make_ws();
  Rule make_string();
  Rule make_number();
  Rule make_value();
  Rule json_char();
  Rule utf8_multibyte();

  detail::ExprPool pool_;
  std::optional<std::uint32_t> ws_rule_, string_rule_, number_rule_, value_rule_;
};

}  // namespace pensieve::grammar
