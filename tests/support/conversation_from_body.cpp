#include "support/conversation_from_body.hpp"

#include "api/conversation_reader.hpp"

namespace pensieve::testing {

Result<chat::Conversation> conversation_from_body(nlohmann::ordered_json body) {
  const auto failed = [](const api::ApiError& e) {
    return make_error(ErrorCode::kInvalidArgument, e.message);
  };
  if (!body.is_object()) return make_error(ErrorCode::kInvalidArgument, "the body is not an object");
  chat::Conversation conversation;
  if (auto system = body.find("system"); system != body.end() && !system->is_null()) {
    if (auto e = api::read_system(*system, conversation)) return failed(*e);
  }
  const auto messages = body.find("messages");
  if (messages == body.end()) return make_error(ErrorCode::kInvalidArgument, "messages: Field required");
  if (auto e = api::read_messages(*messages, conversation)) return failed(*e);
  if (auto tools = body.find("tools"); tools != body.end() && !tools->is_null()) {
    if (auto e = api::read_tools(*tools, conversation)) return failed(*e);
  }
  if (auto choice = body.find("tool_choice"); choice != body.end() && !choice->is_null()) {
    if (auto e = api::read_tool_choice(*choice, conversation)) return failed(*e);
  }
  return conversation;
}

Result<nlohmann::ordered_json> context_from_body(const nlohmann::ordered_json& body,
                                                 const chat::MappingOptions& options) {
  auto conversation = conversation_from_body(body);
  if (!conversation) return conversation.error();
  return chat::anthropic_to_template_context(*conversation, options);
}

}  // namespace pensieve::testing
