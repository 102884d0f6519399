// chat/tool_call_object: reads one tool call written as a JSON object, {"name": "...",
// "arguments": {...}} (or "parameters"), character by character. The call is committed (its start
// emitted) as soon as the name is known and the arguments object begins, so the arguments stream;
// before that, a failure leaves nothing emitted and the caller can release the text as text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chat/json_scanner.hpp"
#include "chat/tool_call_writer.hpp"

namespace pensieve::chat {

class ToolCallObject {
 public:
  enum class Status : std::uint8_t { kMore, kDone, kFailed };

  struct Rules {
    bool require_arguments = false;   // an object without arguments is not a call (Llama 3)
    const nlohmann::json* known_tools = nullptr;  // when set, the name must be one of them
  };

  void reset(Rules rules);
  // Feeds one character; on kDone the call's start and arguments have been written (not its end).
  Status feed(char c, ToolCallWriter& writer);

 private:
  enum class State : std::uint8_t {
    kOpen, kKeyOrEnd, kKey, kKeyString, kColon, kValue, kNameString,
    kArgsStream, kArgsBuffer, kArgsStringified, kSkipValue, kAfterValue,
  };
  Status finish(ToolCallWriter& writer);
  Status after_value(char c, ToolCallWriter& writer);
  bool name_allowed() const;

  Rules rules_;
  State state_ = State::kOpen;
  JsonScanner scanner_;
  std::string key_;
  std::string name_;
  std::string buffered_arguments_;
  bool escape_ = false;
  bool have_name_ = false;
  bool have_arguments_ = false;
};

// A JSON array of tool-call objects, [{...}, {...}] (Mistral Nemo, Granite); each element is a
// call of its own, ended here as soon as it closes.
class ToolCallArray {
 public:
  using Status = ToolCallObject::Status;
  // `allow_bare_object`: a single object without brackets is accepted as one call.
  void reset(bool allow_bare_object);
  Status feed(char c, ToolCallWriter& writer);

 private:
  enum class State : std::uint8_t { kOpen, kElementOrEnd, kElement, kAfterElement };
  State state_ = State::kOpen;
  bool allow_bare_object_ = false;
  bool bare_ = false;
  ToolCallObject object_;
};

// Decodes a JSON string literal's body (without quotes); false when it is not valid.
bool decode_json_string(std::string_view body, std::string& out);

// Whether `tools` (function schemas) lists a function called `name`.
bool tools_have_function(const nlohmann::json& tools, std::string_view name);

}  // namespace pensieve::chat
