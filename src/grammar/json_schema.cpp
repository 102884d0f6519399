// GrammarBuilder::json_schema: JSON Schema (2020-12) to grammar, for the schemas tools really use.
//
// Supported, and what is enforced:
//  - type (a name or a list of names: alternatives), enum / const of any JSON value (scalars
//    exactly as nlohmann::json dumps them, e.g. no "\u00e9" for "é"; objects and arrays with
//    bounded whitespace between tokens, members in the schema's order), anyOf / oneOf (alternatives; oneOf's
//    "only one" is not checked), allOf (one schema, or objects whose properties are merged), $ref to any JSON
//    pointer inside the document ("#", "#/$defs/x", "#/definitions/x"), recursion.
//  - object: properties in their listed order, optional ones skippable; required;
//    additionalProperties false / true / a schema (extra members come after the listed ones; their
//    names are any string, not checked against the listed names). When additionalProperties is
//    absent: with "properties" given only the listed properties are generated (as if false);
//    without "properties" any members are allowed.
//  - array: items, prefixItems, minItems, maxItems (a maxItems over kMaxBoundedRepeat is not
//    enforced).
//  - string: minLength, maxLength (code points; over kMaxBoundedRepeat not enforced), format
//    date-time | date | time | uri | uuid | email (json_formats.hpp). pattern is refused.
//  - integer: exact bounds when both are given and the range holds at most kMaxIntegerRange
//    values; otherwise only the sign (and "not zero") that the bounds imply; at most 19 digits.
//  - number: only the sign a lower bound of 0 or more implies; bounded digit counts.
//  - boolean, null.
//  - Ignored: description, title, default, examples, $schema, $id, $comment, $defs/definitions
//    (as containers). Anything else is an error naming the keyword and its JSON pointer.
#include <nlohmann/json.hpp>

#include "grammar/builder.hpp"
#include "grammar/compile.hpp"
#include "grammar/schema_compiler.hpp"

namespace pensieve::grammar {
namespace {

template <class Json>
Result<GrammarBuilder::Rule> schema_rule(GrammarBuilder& b, detail::ExprPool& pool, const Json& schema) {
  detail::SchemaCompiler<Json> compiler(b, schema);
  auto rule = compiler.compile(schema, "");
  if (!rule) return rule.error();
  // Refuse here, at the schema, what would make the grammar unusable.
  auto checked = detail::compile(pool, rule->index, false);
  if (!checked) return checked.error().with_context("JSON schema");
  return rule;
}

}  // namespace

Result<GrammarBuilder::Rule> GrammarBuilder::json_schema(const nlohmann::json& schema) {
  return schema_rule(*this, pool_, schema);
}

Result<GrammarBuilder::Rule> GrammarBuilder::json_schema(const nlohmann::ordered_json& schema) {
  return schema_rule(*this, pool_, schema);
}

}  // namespace pensieve::grammar
