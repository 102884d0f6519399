// chat/text_arguments: for families that write each argument as bare text between tags
// (Qwen3-Coder's <parameter=…>, GLM's <arg_value>), turns that text back into a JSON value and
// writes the arguments object one parameter at a time.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chat/tool_call_writer.hpp"

namespace pensieve::chat {

// The templates write strings raw and everything else as JSON. Where the tool's schema names the
// parameter's type, that type decides; without a schema, text that parses as a JSON number,
// boolean, null, array or object is taken as that value and anything else as a string.
nlohmann::json typed_argument_value(const nlohmann::json& tools, std::string_view function,
                                    std::string_view parameter, std::string_view raw);

// Compact JSON text; invalid UTF-8 in strings becomes U+FFFD instead of throwing.
std::string dump_json(const nlohmann::json& value);

// Writes {"a": 1, "b": "x"} piece by piece: "{"a": 1", ", "b": "x"", "}".
class ArgumentsObjectWriter {
 public:
  void reset() { first_ = true; }
  void add(ToolCallWriter& writer, std::string_view key, const nlohmann::json& value);
  void close(ToolCallWriter& writer);

 private:
  bool first_ = true;
  std::string piece_;
};

}  // namespace pensieve::chat
