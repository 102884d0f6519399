// grammar/builder: assembles grammars from parts, so that a tool call in a model family's own
// syntax is literal text around JSON whose shape a JSON Schema gives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
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
template <class Json>
class MarkupCompiler;
}

// Tool arguments written as markup, one parameter after another (Qwen3-Coder, GLM):
//   name_open NAME name_close VALUE value_close   for each parameter
// A value is read back the way chat/text_arguments.cpp reads it: raw text where the tool's schema
// gives the parameter only the type string, JSON (or, failing that, raw text) otherwise. It ends at
// the first `value_end`, so no value may contain that text. `tokens` are the texts in the markers
// that a vocabulary may hold as control tokens (see token()).
struct MarkupForm {
  std::string name_open;    // "<parameter="        "<arg_key>"
  std::string name_close;   // ">\n"               "</arg_key>\n<arg_value>"
  std::string value_close;  // "\n</parameter>\n"  "</arg_value>\n"
  std::string value_end;    // "</parameter>"       "</arg_value>"
  // Qwen3-Coder's parser strips one line break from each end of a value: name_close and
  // value_close carry those, and the value itself is written exactly.
  std::vector<std::string> tokens;

  // <parameter=NAME>\nVALUE\n</parameter>\n (Qwen3-Coder; its parser strips one line break at each
  // end of a value).
  static MarkupForm qwen3_coder() { return {"<parameter=", ">\n", "\n</parameter>\n", "</parameter>", {}}; }
  // <arg_key>NAME</arg_key>\n<arg_value>VALUE</arg_value>\n (GLM).
  static MarkupForm glm() {
    return {"<arg_key>", "</arg_key>\n<arg_value>", "</arg_value>\n", "</arg_value>", {}};
  }
};

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
  // A marker such as "<|tool_call_end|>": the control token of that text (control_token.hpp), or
  // ordinary tokens spelling it — the family parsers read the decoded text, which is the same.
  Rule token(std::string_view text);
  // Literal text in which each occurrence of one of `tokens` is a token() (a fixed call syntax
  // whose markers a vocabulary may hold as control tokens).
  Rule text_with_tokens(std::string_view text, std::span<const std::string> tokens);
  Rule bytes(const ByteSet& set);  // any one byte of the set
  Rule empty();
  // Any value valid for the schema (the subset of JSON Schema 2020-12 in json_schema.cpp's
  // header comment). The error names an unsupported keyword and its JSON pointer.
  // Properties are generated in the order the schema lists them: nlohmann::json sorts object
  // keys, so parse tool schemas as ordered_json to keep the order their authors chose.
  Result<Rule> json_schema(const nlohmann::json& schema);
  Result<Rule> json_schema(const nlohmann::ordered_json& schema);
  // The arguments object of a tool call, in markup (see MarkupForm): parameters in the order the
  // schema lists them, the required ones present, none twice, others only where
  // additionalProperties allows (under names that are not listed), each value valid for its
  // property as the family's parser reads it back. The same subset of JSON Schema as
  // json_schema(), and the same errors.
  Result<Rule> markup_arguments(const nlohmann::ordered_json& schema, const MarkupForm& form);
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
  template <class Json>
  friend class detail::MarkupCompiler;
  Rule add(detail::Expr e);
  Rule shared_rule(std::optional<std::uint32_t>& slot, const char* name, Rule (GrammarBuilder::*make)());
  Rule make_ws();
  Rule make_string();
  Rule make_number();
  Rule make_value();
  Rule json_char(std::string_view unwritten);
  Rule utf8_multibyte(bool with_bom = true);
  // A JSON string (quotes included) whose value is none of `names`, in any spelling (json_key.cpp).
  Rule json_key_other_than(const std::vector<std::string>& names);

  detail::ExprPool pool_;
  // JSON inside markup (markup_arguments) must never write "</", which could close the markup's
  // tag: while markup_json_ is set, strings are made without it ('<' is then never followed by
  // '/'; in strings of bounded length it is left out) and enums and consts have it escaped
  // ("<\/"). Its shared rules are kept apart from plain JSON's.
  bool markup_json_ = false;
  std::optional<std::uint32_t> ws_rule_, number_rule_;
  std::optional<std::uint32_t> string_rule_[2], value_rule_[2];  // [markup_json_]
  // markup_arguments' raw texts, shared by every parameter of every tool (by what ends them).
  std::map<std::string, std::uint32_t> markup_text_rules_;
};

}  // namespace pensieve::grammar
