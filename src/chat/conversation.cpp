#include "chat/conversation.hpp"

namespace pensieve::chat {
namespace {

struct TypeName {
  std::string_view operator()(const TextBlock&) const { return "text"; }
  std::string_view operator()(const ImageBlock&) const { return "image"; }
  std::string_view operator()(const DocumentBlock&) const { return "document"; }
  std::string_view operator()(const ThinkingBlock&) const { return "thinking"; }
  std::string_view operator()(const RedactedThinkingBlock&) const { return "redacted_thinking"; }
  std::string_view operator()(const ToolUseBlock&) const { return "tool_use"; }
  std::string_view operator()(const ToolResultBlock&) const { return "tool_result"; }
  std::string_view operator()(const OtherBlock& other) const { return other.type; }
};

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kUser:
      return "user";
    case Role::kAssistant:
      return "assistant";
    case Role::kSystem:
      return "system";
  }
  return "user";
}

std::string_view block_type(const ContentBlock& block) {
  return std::visit(TypeName{}, block);
}

std::string_view block_type(const ToolResultPart& part) {
  return std::visit(TypeName{}, part);
}

}  // namespace pensieve::chat
