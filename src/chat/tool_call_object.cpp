#include "chat/tool_call_object.hpp"

#include <utility>

#include "chat/text_arguments.hpp"

namespace pensieve::chat {

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_name_key(std::string_view key) { return key == "name"; }
bool is_arguments_key(std::string_view key) { return key == "arguments" || key == "parameters"; }
}  // namespace

bool decode_json_string(std::string_view body, std::string& out) {
  std::string quoted;
  quoted.reserve(body.size() + 2);
  quoted.push_back('"');
  quoted.append(body);
  quoted.push_back('"');
  const auto parsed = nlohmann::json::parse(quoted, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_string()) return false;
  out = parsed.get<std::string>();
  return true;
}

bool tools_have_function(const nlohmann::json& tools, std::string_view name) {
  if (!tools.is_array()) return false;
  for (const auto& tool : tools) {
    const auto* function = tool.is_object() && tool.contains("function") ? &tool["function"] : &tool;
    if (function->is_object() && function->contains("name") && (*function)["name"].is_string() &&
        (*function)["name"].get_ref<const std::string&>() == name) {
      return true;
    }
  }
  return false;
}

void ToolCallObject::reset(Rules rules) {
  rules_ = rules;
  state_ = State::kOpen;
  scanner_.reset();
  key_.clear();
  name_.clear();
  buffered_arguments_.clear();
  escape_ = false;
  have_name_ = false;
  have_arguments_ = false;
}

bool ToolCallObject::name_allowed() const {
  return rules_.known_tools == nullptr || tools_have_function(*rules_.known_tools, name_);
}

ToolCallObject::Status ToolCallObject::finish(ToolCallWriter& writer) {
  if (writer.open()) return Status::kDone;  // arguments already streamed
  if (!have_name_ || (rules_.require_arguments && !have_arguments_)) return Status::kFailed;
  std::string arguments = "{}";
  if (have_arguments_) {
    arguments = std::move(buffered_arguments_);
    if (arguments.front() == '"') {
      // Arguments written as a string holding JSON: unwrap it.
      std::string inner;
      if (!decode_json_string(std::string_view(arguments).substr(1, arguments.size() - 2), inner)) {
        return Status::kFailed;
      }
      const auto parsed = nlohmann::json::parse(inner, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_object()) return Status::kFailed;
      arguments = dump_json(parsed);
    }
  }
  writer.start(std::move(name_));
  writer.arguments(arguments);
  return Status::kDone;
}

ToolCallObject::Status ToolCallObject::after_value(char c, ToolCallWriter& writer) {
  if (is_space(c)) return Status::kMore;
  if (c == ',') {
    state_ = State::kKey;
    return Status::kMore;
  }
  if (c == '}') return finish(writer);
  return Status::kFailed;
}

ToolCallObject::Status ToolCallObject::feed(char c, ToolCallWriter& writer) {
  switch (state_) {
    case State::kOpen:
      if (is_space(c)) return Status::kMore;
      if (c != '{') return Status::kFailed;
      state_ = State::kKeyOrEnd;
      return Status::kMore;
    case State::kKeyOrEnd:
      if (c == '}') return finish(writer);
      [[fallthrough]];
    case State::kKey:
      if (is_space(c)) return Status::kMore;
      if (c != '"') return Status::kFailed;
      key_.clear();
      escape_ = false;
      state_ = State::kKeyString;
      return Status::kMore;
    case State::kKeyString:
    case State::kNameString: {
      std::string& target = state_ == State::kKeyString ? key_ : name_;
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        std::string decoded;
        if (!decode_json_string(target, decoded)) return Status::kFailed;
        target = std::move(decoded);
        if (state_ == State::kKeyString) {
          state_ = State::kColon;
        } else {
          have_name_ = true;
          if (!name_allowed()) return Status::kFailed;
          state_ = State::kAfterValue;
        }
        return Status::kMore;
      }
      target.push_back(c);
      return Status::kMore;
    }
    case State::kColon:
      if (is_space(c)) return Status::kMore;
      if (c != ':') return Status::kFailed;
      state_ = State::kValue;
      return Status::kMore;
    case State::kValue:
      if (is_space(c)) return Status::kMore;
      if (is_name_key(key_) && !have_name_) {
        if (c != '"') return Status::kFailed;
        name_.clear();
        escape_ = false;
        state_ = State::kNameString;
        return Status::kMore;
      }
      if (is_arguments_key(key_) && !have_arguments_) {
        have_arguments_ = true;
        if (c == '"') {
          scanner_ = JsonScanner(/*objects_only=*/false);
          state_ = State::kArgsStringified;
        } else if (have_name_) {
          scanner_ = JsonScanner(/*objects_only=*/true);
          writer.start(name_);
          state_ = State::kArgsStream;
        } else {
          scanner_ = JsonScanner(/*objects_only=*/true);
          state_ = State::kArgsBuffer;
        }
      } else {
        scanner_ = JsonScanner(/*objects_only=*/false);
        state_ = State::kSkipValue;
      }
      return feed(c, writer);
    case State::kArgsStream:
    case State::kArgsBuffer:
    case State::kArgsStringified: {
      const JsonScanner::Step step = scanner_.feed(c);
      if (step == JsonScanner::Step::kInvalid || step == JsonScanner::Step::kCompleteBefore) {
        return Status::kFailed;
      }
      if (state_ == State::kArgsStream) {
        writer.arguments(std::string_view(&c, 1));
      } else {
        buffered_arguments_.push_back(c);
      }
      if (step == JsonScanner::Step::kComplete) {
        if (state_ == State::kArgsStringified && buffered_arguments_.front() != '"') return Status::kFailed;
        state_ = State::kAfterValue;
      }
      return Status::kMore;
    }
    case State::kSkipValue: {
      const JsonScanner::Step step = scanner_.feed(c);
      if (step == JsonScanner::Step::kInvalid) return Status::kFailed;
      if (step == JsonScanner::Step::kComplete) state_ = State::kAfterValue;
      if (step == JsonScanner::Step::kCompleteBefore) {
        state_ = State::kAfterValue;
        return after_value(c, writer);
      }
      return Status::kMore;
    }
    case State::kAfterValue: return after_value(c, writer);
  }
  return Status::kFailed;
}

void ToolCallArray::reset(bool allow_bare_object) {
  state_ = State::kOpen;
  allow_bare_object_ = allow_bare_object;
  bare_ = false;
}

ToolCallArray::Status ToolCallArray::feed(char c, ToolCallWriter& writer) {
  switch (state_) {
    case State::kOpen:
      if (is_space(c)) return Status::kMore;
      if (c == '[') {
        state_ = State::kElementOrEnd;
        return Status::kMore;
      }
      if (c != '{' || !allow_bare_object_) return Status::kFailed;
      bare_ = true;
      object_.reset({});
      state_ = State::kElement;
      return feed(c, writer);
    case State::kElementOrEnd:
      if (is_space(c)) return Status::kMore;
      if (c == ']') return Status::kDone;
      object_.reset({});
      state_ = State::kElement;
      return feed(c, writer);
    case State::kElement: {
      const Status status = object_.feed(c, writer);
      if (status != Status::kDone) return status;
      writer.end(true);
      if (bare_) return Status::kDone;
      state_ = State::kAfterElement;
      return Status::kMore;
    }
    case State::kAfterElement:
      if (is_space(c)) return Status::kMore;
      if (c == ']') return Status::kDone;
      if (c != ',') return Status::kFailed;
      object_.reset({});
      state_ = State::kElement;
      return Status::kMore;
  }
  return Status::kFailed;
}

}  // namespace pensieve::chat
