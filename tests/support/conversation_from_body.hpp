// Tests write conversations as Anthropic request bodies; these read them the way the API layer
// does (api/conversation_reader), without its check that every tool_use is answered, since many
// test conversations end on a call. Errors come back as kInvalidArgument with the API's message.
#pragma once

#include <nlohmann/json.hpp>

#include "chat/anthropic_mapping.hpp"
#include "chat/conversation.hpp"
#include "core/result.hpp"

namespace pensieve::testing {

Result<chat::Conversation> conversation_from_body(nlohmann::ordered_json body);

// The body's conversation mapped to a template context.
Result<nlohmann::ordered_json> context_from_body(const nlohmann::ordered_json& body,
                                                 const chat::MappingOptions& options = {});

}  // namespace pensieve::testing
