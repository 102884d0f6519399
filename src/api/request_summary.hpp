// api/request_summary: a request's conversation in a few words for the server log — how many
// messages and what the last one carries ("3 messages, the last user [tool_result]"), so that a
// log shows an agent's loop (a tool call answered by its result) without logging anyone's text.
#pragma once

#include <string>

#include "chat/conversation.hpp"

namespace pensieve::api {

std::string summarize_conversation(const chat::Conversation& conversation);

}  // namespace pensieve::api
