// Tool schemas the grammar tests and benchmark run on: the shape of Claude Code's own tool set
// (long descriptions, additionalProperties false, enums, a uri format, arrays of objects), plus
// recursive $defs, anyOf, nullable type lists and enums.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace pensieve::grammar::testing {

inline const char* const kDescription =
    "A long description as real tools carry, with \"quotes\", newlines\nand details the model reads "
    "but the grammar ignores; it may mention {braces} and [brackets] too.";

// (tool name, input schema)
inline std::vector<std::pair<std::string, nlohmann::ordered_json>> claude_code_tools() {
  using nlohmann::ordered_json;
  auto str = [] { return ordered_json{{"type", "string"}, {"description", kDescription}}; };
  auto tool = [](ordered_json props, std::vector<std::string> required) {
    return ordered_json{{"type", "object"},
                        {"properties", std::move(props)},
                        {"required", std::move(required)},
                        {"additionalProperties", false},
                        {"$schema", "http://json-schema.org/draft-07/schema#"}};
  };
  std::vector<std::pair<std::string, ordered_json>> tools;
  tools.emplace_back(
      "Bash", tool({{"command", str()},
                    {"timeout", {{"type", "number"}, {"description", "Optional timeout in ms (max 600000)"}}},
                    {"description", str()},
                    {"run_in_background", {{"type", "boolean"}}}},
                   {"command"}));
  tools.emplace_back(
      "Read", tool({{"file_path", str()}, {"offset", {{"type", "number"}}}, {"limit", {{"type", "number"}}}},
                   {"file_path"}));
  tools.emplace_back("Edit", tool({{"file_path", str()},
                                   {"old_string", str()},
                                   {"new_string", str()},
                                   {"replace_all", {{"type", "boolean"}, {"default", false}}}},
                                  {"file_path", "old_string", "new_string"}));
  tools.emplace_back("Write", tool({{"file_path", str()}, {"content", str()}}, {"file_path", "content"}));
  tools.emplace_back("Glob", tool({{"pattern", str()}, {"path", str()}}, {"pattern"}));
  tools.emplace_back(
      "Grep",
      tool({{"pattern", str()},
            {"path", str()},
            {"glob", str()},
            {"output_mode", {{"type", "string"}, {"enum", {"content", "files_with_matches", "count"}}}},
            {"-B", {{"type", "number"}}},
            {"-A", {{"type", "number"}}},
            {"-C", {{"type", "number"}}},
            {"-n", {{"type", "boolean"}}},
            {"-i", {{"type", "boolean"}}},
            {"type", str()},
            {"head_limit", {{"type", "number"}}},
            {"multiline", {{"type", "boolean"}}}},
           {"pattern"}));
  tools.emplace_back(
      "TodoWrite",
      tool({{"todos",
             {{"type", "array"},
              {"items",
               tool({{"content", {{"type", "string"}, {"minLength", 1}}},
                     {"status", {{"type", "string"}, {"enum", {"pending", "in_progress", "completed"}}}},
                     {"activeForm", {{"type", "string"}, {"minLength", 1}}}},
                    {"content", "status", "activeForm"})},
              {"description", "The updated todo list"}}}},
           {"todos"}));
  tools.emplace_back("WebFetch",
                     tool({{"url", {{"type", "string"}, {"format", "uri"}, {"description", kDescription}}},
                           {"prompt", str()}},
                          {"url", "prompt"}));
  tools.emplace_back("Task", tool({{"description", str()}, {"prompt", str()}, {"subagent_type", str()}},
                                  {"description", "prompt", "subagent_type"}));
  tools.emplace_back(
      "MultiEdit",
      tool({{"file_path", str()},
            {"edits",
             {{"type", "array"},
              {"items",
               tool({{"old_string", str()}, {"new_string", str()}, {"replace_all", {{"type", "boolean"}}}},
                    {"old_string", "new_string"})},
              {"minItems", 1}}}},
           {"file_path", "edits"}));
  tools.emplace_back("WebSearch",
                     tool({{"query", {{"type", "string"}, {"minLength", 2}}},
                           {"allowed_domains", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                           {"blocked_domains", {{"type", "array"}, {"items", {{"type", "string"}}}}}},
                          {"query"}));
  return tools;
}

// Schemas beyond Claude Code's: recursion, anyOf, nullable types, enums of any value, formats.
inline std::vector<std::pair<std::string, nlohmann::ordered_json>> other_schemas() {
  using nlohmann::ordered_json;
  std::vector<std::pair<std::string, ordered_json>> out;
  out.emplace_back("tree", ordered_json::parse(R"({
    "$defs": {"node": {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 12},
        "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 3}},
      "required": ["name"], "additionalProperties": false}},
    "$ref": "#/$defs/node"})"));
  out.emplace_back("any_of", ordered_json::parse(R"({
    "type": "object", "properties": {
      "target": {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "integer", "minimum": 0, "maximum": 99}]},
      "when": {"type": "string", "format": "date-time"},
      "day": {"type": "string", "format": "date"},
      "mail": {"type": "string", "format": "email"},
      "note": {"type": ["string", "null"]},
      "level": {"type": "integer", "minimum": 1}},
    "required": ["target", "note"], "additionalProperties": false})"));
  out.emplace_back("enums", ordered_json::parse(R"({
    "type": "object", "properties": {
      "mode": {"enum": ["a", "ab", 1, null, true, {"k": [1, 2]}]},
      "fixed": {"const": "v1"},
      "pair": {"type": "array", "prefixItems": [{"type": "boolean"}, {"type": "null"}], "items": false, "minItems": 1},
      "extra": {"type": "object", "additionalProperties": {"type": "integer", "minimum": -5, "maximum": 5}}},
    "required": ["mode", "fixed"]})"));
  out.emplace_back("all_of", ordered_json::parse(R"({
    "definitions": {"base": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}},
    "allOf": [{"$ref": "#/definitions/base"},
              {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 4}}}],
    "additionalProperties": false})"));
  out.emplace_back("free", ordered_json::parse(R"({"type": "object"})"));
  return out;
}

}  // namespace pensieve::grammar::testing

#include "grammar/builder.hpp"

namespace pensieve::grammar::testing {

// One or more tool calls in Qwen/Hermes syntax: JSON naming the tool around its arguments.
inline std::shared_ptr<const Grammar> tool_call_grammar(
    const std::vector<std::pair<std::string, nlohmann::ordered_json>>& tools) {
  GrammarBuilder b;
  std::vector<GrammarBuilder::Rule> calls;
  for (const auto& [name, schema] : tools) {
    auto args = b.json_schema(schema);
    if (!args) return nullptr;
    calls.push_back(
        b.sequence({b.literal("{\"name\": \"" + name + "\", \"arguments\": "), *args, b.literal("}")}));
  }
  const auto one =
      b.sequence({b.literal("<tool_call>\n"), b.alternatives(calls), b.literal("\n</tool_call>")});
  return b.build(b.sequence({one, b.repeat(b.sequence({b.literal("\n"), one}), 0, std::nullopt)}));
}

}  // namespace pensieve::grammar::testing
