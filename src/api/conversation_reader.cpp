#include "api/conversation_reader.hpp"

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/body_errors.hpp"

namespace pensieve::api {
namespace {

using json = nlohmann::ordered_json;

// A string member, moved out; null when absent or not a string.
std::string* string_member(json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? &it->get_ref<std::string&>() : nullptr;
}

// A tool result's content items. The API does not check them; the chat mapping only ever read
// their text (a bare string among them too), so only what it could not read is refused.
std::optional<ApiError> read_result_parts(json& content, const std::string& where,
                                          std::vector<chat::ToolResultPart>& out) {
  if (content.is_string()) {
    out.push_back(chat::TextBlock{std::move(content.get_ref<std::string&>())});
    return std::nullopt;
  }
  if (!content.is_array()) return std::nullopt;  // null: an empty result
  for (std::size_t k = 0; k < content.size(); ++k) {
    json& part = content[k];
    const std::string part_where = item_path(where, k);
    if (part.is_string()) {
      out.push_back(chat::TextBlock{std::move(part.get_ref<std::string&>())});
      continue;
    }
    if (!part.is_object()) return body_error(part_where + ": Input should be a valid dictionary or object");
    const std::string* type = string_member(part, "type");
    if (type == nullptr) return field_required(part_where + ".type");
    if (*type == "text") {
      std::string* text = string_member(part, "text");
      if (text == nullptr) return field_required(part_where + ".text");
      out.push_back(chat::TextBlock{std::move(*text)});
    } else if (*type == "image") {
      out.push_back(chat::ImageBlock{});
    } else if (*type == "document") {
      out.push_back(chat::DocumentBlock{});
    } else {
      out.push_back(chat::OtherBlock{*type});
    }
  }
  return std::nullopt;
}

std::optional<ApiError> read_block(json& block, const std::string& where,
                                   std::vector<chat::ContentBlock>& out) {
  if (!block.is_object()) return body_error(where + ": Input should be a valid dictionary or object");
  const std::string* type = string_member(block, "type");
  if (type == nullptr) return field_required(where + ".type");
  const std::string& t = *type;
  if (t == "text") {
    std::string* text = string_member(block, "text");
    if (text == nullptr) return field_required(where + ".text");
    if (text->empty()) return body_error("messages: text content blocks must be non-empty");
    out.push_back(chat::TextBlock{std::move(*text)});
  } else if (t == "tool_use" || t == "server_tool_use") {
    std::string* id = string_member(block, "id");
    if (id == nullptr) return field_required(where + ".id");
    std::string* name = string_member(block, "name");
    if (name == nullptr) return field_required(where + ".name");
    const auto input = block.find("input");
    if (input == block.end()) return field_required(where + ".input");
    if (!input->is_object()) return body_error(where + ".input: Input should be a valid dictionary");
    // Server tools run at Anthropic; their calls have no place in a local model's prompt.
    if (t == "server_tool_use") {
      out.push_back(chat::OtherBlock{t});
    } else {
      out.push_back(chat::ToolUseBlock{std::move(*id), std::move(*name), std::move(*input)});
    }
  } else if (t == "tool_result") {
    std::string* id = string_member(block, "tool_use_id");
    if (id == nullptr) return field_required(where + ".tool_use_id");
    chat::ToolResultBlock result{std::move(*id), {}, false};
    if (const auto content = block.find("content"); content != block.end()) {
      if (!content->is_string() && !content->is_array() && !content->is_null()) {
        return body_error(where + ".content: Input should be a valid string or a list of content blocks");
      }
      if (auto e = read_result_parts(*content, where + ".content", result.content)) return e;
    }
    const auto is_error = block.find("is_error");
    result.is_error = is_error != block.end() && *is_error == true;
    out.push_back(std::move(result));
  } else if (t == "thinking") {
    std::string* thinking = string_member(block, "thinking");
    if (thinking == nullptr) return field_required(where + ".thinking");
    out.push_back(chat::ThinkingBlock{std::move(*thinking)});
  } else if (t == "redacted_thinking") {
    out.push_back(chat::RedactedThinkingBlock{});
  } else if (t == "image") {
    out.push_back(chat::ImageBlock{});
  } else if (t == "document") {
    out.push_back(chat::DocumentBlock{});
  } else {
    // Other block types (search results, server tool results, …) are accepted as they are; the
    // chat mapping decides what a text model can make of them.
    out.push_back(chat::OtherBlock{t});
  }
  return std::nullopt;
}

std::optional<ApiError> read_message(json& m, const std::string& where, bool last,
                                     std::vector<chat::Message>& out) {
  if (!m.is_object()) return body_error(where + ": Input should be a valid dictionary or object");
  const auto role = m.find("role");
  if (role == m.end()) return field_required(where + ".role");
  // The API takes system messages among the others (its SDK's SystemMessageParam; Claude Code
  // sends them), so the message names all three.
  chat::Message message;
  if (*role == "user") {
    message.role = chat::Role::kUser;
  } else if (*role == "assistant") {
    message.role = chat::Role::kAssistant;
  } else if (*role == "system") {
    message.role = chat::Role::kSystem;
  } else {
    return body_error(where + ".role: Input should be 'user', 'assistant' or 'system'");
  }
  const auto content = m.find("content");
  if (content == m.end()) return field_required(where + ".content");
  const bool last_assistant = last && message.role == chat::Role::kAssistant;
  const auto empty = [&] {
    return body_error(
        where + ": all messages must have non-empty content except for the optional final assistant message");
  };
  if (content->is_string()) {
    std::string& text = content->get_ref<std::string&>();
    if (text.empty() && !last_assistant) return empty();
    message.content.blocks.push_back(chat::TextBlock{std::move(text)});
    message.content.bare_text = true;
  } else if (content->is_array()) {
    if (content->empty() && !last_assistant) return empty();
    for (std::size_t j = 0; j < content->size(); ++j) {
      if (auto e = read_block((*content)[j], item_path(where + ".content", j), message.content.blocks))
        return e;
    }
  } else {
    return body_error(where + ".content: Input should be a valid string or a list of content blocks");
  }
  out.push_back(std::move(message));
  return std::nullopt;
}

std::set<std::string_view> tool_use_ids(const chat::Message& message) {
  std::set<std::string_view> ids;
  for (const auto& block : message.content.blocks) {
    if (const auto* call = std::get_if<chat::ToolUseBlock>(&block)) ids.insert(call->id);
  }
  return ids;
}

}  // namespace

std::optional<ApiError> read_system(json& system, chat::Conversation& out) {
  chat::Content content;
  if (system.is_string()) {
    content.blocks.push_back(chat::TextBlock{std::move(system.get_ref<std::string&>())});
    content.bare_text = true;
    out.system = std::move(content);
    return std::nullopt;
  }
  if (!system.is_array())
    return body_error("system: Input should be a valid string or a list of text blocks");
  for (std::size_t i = 0; i < system.size(); ++i) {
    json& block = system[i];
    if (!block.is_object() || block.value("type", "") != "text") {
      return body_error(item_path("system", i) + ".type: Input should be 'text'");
    }
    std::string* text = string_member(block, "text");
    if (text == nullptr) return field_required(item_path("system", i) + ".text");
    if (text->empty()) return body_error("system: text content blocks must be non-empty");
    content.blocks.push_back(chat::TextBlock{std::move(*text)});
  }
  out.system = std::move(content);
  return std::nullopt;
}

std::optional<ApiError> read_messages(json& messages, chat::Conversation& out) {
  if (!messages.is_array()) return body_error("messages: Input should be a valid list");
  if (messages.empty()) return body_error("messages: at least one message is required");
  out.messages.reserve(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (auto e = read_message(messages[i], item_path("messages", i), i + 1 == messages.size(), out.messages))
      return e;
  }
  return std::nullopt;
}

std::optional<ApiError> check_tool_pairs(const chat::Conversation& conversation) {
  const auto& messages = conversation.messages;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& blocks = messages[i].content.blocks;
    const std::set<std::string_view> previous =
        i > 0 ? tool_use_ids(messages[i - 1]) : std::set<std::string_view>();
    for (std::size_t j = 0; j < blocks.size(); ++j) {
      const auto* result = std::get_if<chat::ToolResultBlock>(&blocks[j]);
      if (result == nullptr || previous.count(result->tool_use_id)) continue;
      return body_error(
          item_path(item_path("messages", i) + ".content", j) +
          ": unexpected `tool_use_id` found in `tool_result` blocks: " + result->tool_use_id +
          ". Each `tool_result` block must have a corresponding `tool_use` block in the previous "
          "message.");
    }
    std::set<std::string_view> answered;
    if (i + 1 < messages.size()) {
      for (const auto& block : messages[i + 1].content.blocks) {
        if (const auto* result = std::get_if<chat::ToolResultBlock>(&block))
          answered.insert(result->tool_use_id);
      }
    }
    // In the order of the calls, as the message names them.
    std::string missing;
    for (const auto& block : blocks) {
      const auto* call = std::get_if<chat::ToolUseBlock>(&block);
      if (call == nullptr || answered.count(call->id)) continue;
      if (!missing.empty()) missing += ", ";
      missing += call->id;
    }
    if (!missing.empty()) {
      return body_error(
          item_path("messages", i) +
          ": `tool_use` ids were found without `tool_result` blocks immediately after: " + missing +
          ". Each `tool_use` block must have a corresponding `tool_result` block in the next message.");
    }
  }
  return std::nullopt;
}

std::optional<ApiError> read_tools(json& tools, chat::Conversation& out) {
  if (!tools.is_array()) return body_error("tools: Input should be a valid list");
  out.tools.reserve(tools.size());
  for (std::size_t i = 0; i < tools.size(); ++i) {
    json& tool = tools[i];
    const std::string where = item_path("tools", i);
    if (!tool.is_object()) return body_error(where + ": Input should be a valid dictionary or object");
    std::string* name = string_member(tool, "name");
    if (name == nullptr) return field_required(where + ".name");
    const bool custom = !tool.contains("type") || tool["type"] == "custom";
    const auto schema = tool.find("input_schema");
    if (custom && schema == tool.end()) return field_required(where + ".custom.input_schema");
    chat::Tool typed{std::move(*name), std::nullopt, std::nullopt};
    if (schema != tool.end()) {
      if (!schema->is_object()) {
        return body_error(where + (custom ? ".custom" : "") +
                          ".input_schema: Input should be a valid dictionary");
      }
      typed.input_schema = std::move(*schema);
    }
    if (std::string* description = string_member(tool, "description"))
      typed.description = std::move(*description);
    out.tools.push_back(std::move(typed));
  }
  return std::nullopt;
}

std::optional<ApiError> read_tool_choice(const json& choice, chat::Conversation& out) {
  if (!choice.is_object() || !choice.contains("type") || !choice["type"].is_string()) {
    return field_required("tool_choice.type");
  }
  chat::ToolChoice& r = out.tool_choice;
  const std::string type = choice["type"].get<std::string>();
  if (type == "auto") {
    r.mode = chat::ToolChoiceMode::kAuto;
  } else if (type == "any") {
    r.mode = chat::ToolChoiceMode::kAny;
  } else if (type == "none") {
    r.mode = chat::ToolChoiceMode::kNone;
  } else if (type == "tool") {
    r.mode = chat::ToolChoiceMode::kTool;
    if (!choice.contains("name") || !choice["name"].is_string())
      return field_required("tool_choice.tool.name");
    r.name = choice["name"].get<std::string>();
  } else {
    return body_error(
        "tool_choice: Input tag '" + type +
        "' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'");
  }
  if (const auto d = choice.find("disable_parallel_tool_use"); d != choice.end() && d->is_boolean()) {
    r.disable_parallel_tool_use = d->get<bool>();
  }
  return std::nullopt;
}

}  // namespace pensieve::api
