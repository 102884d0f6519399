// api/conversation_reader: the conversation of a Messages body (system, messages, tools,
// tool_choice) checked the way the Anthropic API checks it, with its error messages, and read
// into a chat::Conversation in the same walk. Values are moved out of the body as they are
// read: the body is only a stage on the way to the typed form.
//
// Each part is read on its own so that messages_request checks a body's fields in the order the
// real API reports them. The callers skip parts that are absent or null.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "api/error.hpp"
#include "chat/conversation.hpp"

namespace pensieve::api {

std::optional<ApiError> read_system(nlohmann::ordered_json& system, chat::Conversation& out);
std::optional<ApiError> read_messages(nlohmann::ordered_json& messages, chat::Conversation& out);
std::optional<ApiError> read_tools(nlohmann::ordered_json& tools, chat::Conversation& out);
std::optional<ApiError> read_tool_choice(const nlohmann::ordered_json& choice, chat::Conversation& out);

// Every tool_use needs its tool_result in the next message, and every tool_result its tool_use
// in the previous one.
std::optional<ApiError> check_tool_pairs(const chat::Conversation& conversation);

}  // namespace pensieve::api
