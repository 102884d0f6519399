// chat/anthropic_mapping: turns an Anthropic Messages conversation (chat/conversation, read from
// the request by the API layer) into the context a chat template renders: {"messages": [...],
// "tools": [...] or null}, in the OpenAI-like shape the templates were written for (see
// ../shared/fixtures/chat/conversations.json). The caller adds bos_token, eos_token and
// add_generation_prompt.
//
// - `system` (a string or text blocks) and any role "system" message become one leading system
//   message, blocks joined by a blank line. A system text block that starts with
//   "x-anthropic-billing-header:" is dropped (a system string loses that first line): Claude Code
//   sends one that changes on every request, and it would make every prompt differ at its very
//   start, defeating prefix caching.
// - Text blocks are joined into one string per message, separated by a blank line.
// - tool_use blocks become the assistant's "tool_calls" ([{"id", "type": "function", "function":
//   {"name", "arguments": OBJECT}}]); tool_result blocks become "tool" messages ("tool_call_id",
//   "name" when the call is known, "content" as a string, "is_error": true when set). For Mistral
//   the ids are rewritten to the 9 letters and digits its templates demand, the same way for a
//   call and its result.
// - thinking blocks become "reasoning_content" ("thinking" for gpt-oss, whose template reads
//   that); redacted_thinking blocks are dropped.
// - image and document blocks become a short placeholder text rather than failing the request:
//   a long agent session that once read a screenshot must go on working. The model does not see
//   the image.
// - A block where the mapping has no place for it (a tool call from the user, a server tool's
//   block, …) fails the request with kUnsupported, naming the block ("messages[2].content[0]").
// - Consecutive messages of the same role (user or assistant) are merged, since many templates
//   insist that roles alternate.
// - `tools` become function schemas; tools without an input_schema (Anthropic's server tools,
//   which pensieve does not run) are left out; tool_choice "none" offers no tools at all.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "chat/conversation.hpp"
#include "chat/template_family.hpp"
#include "core/result.hpp"

namespace pensieve::chat {

struct MappingOptions {
  TemplateFamily family = TemplateFamily::kGeneric;
};

// Ordered JSON in and out: templates print dicts (tool schemas, arguments) in the order the
// client wrote their keys, so that order must survive (see jinja/template.hpp).
Result<nlohmann::ordered_json> anthropic_to_template_context(const Conversation& conversation,
                                                             const MappingOptions& options = {});

// Mistral's tool-call id for `id`: kept when it already is 9 letters and digits, otherwise 9
// letters and digits derived from it (the same id always maps to the same result).
std::string mistral_tool_call_id(std::string_view id, unsigned salt = 0);

inline constexpr std::string_view kBillingHeaderPrefix = "x-anthropic-billing-header:";
inline constexpr std::string_view kImagePlaceholder = "[image omitted: this model cannot see images]";
inline constexpr std::string_view kDocumentPlaceholder = "[document omitted: this model cannot read attached documents]";

}  // namespace pensieve::chat
