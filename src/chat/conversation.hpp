// chat/conversation: a Messages conversation in typed form. The API layer reads a request body
// into it once, checking it as it goes; from then on the chat mapping, the frontends and the
// logs read this, never the request's JSON.
//
// Content keeps what a text model can use and what the mapping must tell apart: text, thinking,
// tool calls and their results. Images and documents are kept only as what they are (the model
// is shown a placeholder), redacted thinking as its presence. A block of any other type (server
// tool use, search results, …) keeps its type name, so that the mapping can refuse it by name.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pensieve::chat {

enum class Role : std::uint8_t { kUser, kAssistant, kSystem };

struct TextBlock {
  std::string text;
};
struct ImageBlock {};
struct DocumentBlock {};
struct ThinkingBlock {
  std::string thinking;
};
struct RedactedThinkingBlock {};
struct ToolUseBlock {
  std::string id;
  std::string name;
  nlohmann::ordered_json input;  // an object, in the client's key order (templates print it so)
};
struct OtherBlock {
  std::string type;
};

// What a tool result may hold.
using ToolResultPart = std::variant<TextBlock, ImageBlock, DocumentBlock, OtherBlock>;

struct ToolResultBlock {
  std::string tool_use_id;
  std::vector<ToolResultPart> content;  // a string result is one text part
  bool is_error = false;
};

using ContentBlock = std::variant<TextBlock, ImageBlock, DocumentBlock, ThinkingBlock, RedactedThinkingBlock,
                                  ToolUseBlock, ToolResultBlock, OtherBlock>;

struct Content {
  std::vector<ContentBlock> blocks;
  // Sent as a plain string, held as its one text block. A system string loses only a leading
  // billing-header line, where a text block that starts with one is dropped whole.
  bool bare_text = false;
};

struct Message {
  Role role = Role::kUser;
  Content content;
};

struct Tool {
  std::string name;
  std::optional<std::string> description;
  // An object, in the client's key order: call grammars and templates follow it. None for
  // Anthropic's server tools, which pensieve does not run.
  std::optional<nlohmann::ordered_json> input_schema;
};

enum class ToolChoiceMode : std::uint8_t { kAuto, kAny, kTool, kNone };

struct ToolChoice {
  ToolChoiceMode mode = ToolChoiceMode::kAuto;
  std::string name;  // the tool kTool asks for
  bool disable_parallel_tool_use = false;

  bool forces_a_call() const { return mode == ToolChoiceMode::kAny || mode == ToolChoiceMode::kTool; }
};

struct Conversation {
  std::optional<Content> system;  // the request's top-level `system`
  // In the request's order (indices name them in errors), system-role messages among them.
  std::vector<Message> messages;
  std::vector<Tool> tools;
  ToolChoice tool_choice;
};

// Names as the Messages API spells them ("user", "tool_use", …).
std::string_view role_name(Role role);
std::string_view block_type(const ContentBlock& block);
std::string_view block_type(const ToolResultPart& part);

}  // namespace pensieve::chat
