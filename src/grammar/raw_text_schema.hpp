// grammar/raw_text_schema: which tool parameters a call in markup (Qwen3-Coder, GLM) carries as
// raw text rather than JSON — those whose schema allows only strings (a type list counts when
// "string" is its only type besides "null"). The family parsers read values back by this rule and
// the call grammar writes them by it, so both ask here.
#pragma once

namespace pensieve::grammar {

template <class Json>
bool is_raw_text_schema(const Json& schema) {
  if (!schema.is_object()) return false;
  const auto type = schema.find("type");
  if (type == schema.end()) return false;
  if (type->is_string()) return *type == "string";
  if (!type->is_array()) return false;
  bool string = false;
  for (const auto& t : *type) {
    if (t == "string") {
      string = true;
    } else if (t != "null") {
      return false;
    }
  }
  return string;
}

}  // namespace pensieve::grammar
