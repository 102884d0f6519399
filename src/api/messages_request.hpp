// api/messages_request: a POST /v1/messages (or count_tokens) body, checked the way the
// Anthropic API checks it, with the same error messages. Fields we do not use are accepted and
// ignored, so every client that talks to the real API can talk to us.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/error.hpp"
#include "chat/conversation.hpp"

namespace pensieve::api {

struct MessagesRequest {
  std::string model;
  // 0 for count_tokens, which has none, and for an OpenAI request that sets none: as many as the
  // context leaves.
  std::int64_t max_tokens = 0;  // 0 for count_tokens, which has none
  bool stream = false;
  std::vector<std::string> stop_sequences;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> top_k;
  std::optional<std::uint64_t> seed;  // OpenAI's `seed`; Anthropic's API has none
  // OpenAI's penalties (over the sampler's recent window) and the min_p extension local servers
  // take; Anthropic's API has none.
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
  std::optional<double> min_p;
  std::optional<double> repetition_penalty;  // > 1 makes recent tokens less likely (an extension too)
  bool thinking = false;  // thinking.type "enabled" or "adaptive"
  std::optional<std::int64_t> thinking_budget_tokens;
  // output_config.format (or the beta output_format) of type json_schema: the text answer must be
  // JSON valid for this schema.
  std::optional<nlohmann::ordered_json> output_schema;
  chat::Conversation conversation;  // system, messages, tools and tool_choice
  // A text completion's prompt (OpenAI's /v1/completions): the model continues this text as it
  // is — no chat template, the conversation empty — and all it writes is text (no tool calls,
  // no reasoning).
  std::optional<std::string> raw_prompt;
  // What the ids of the model's tool calls start with: Anthropic's "toolu_", OpenAI's "call_".
  std::string tool_call_id_prefix = "toolu_";
};

enum class RequestKind { kCreate, kCountTokens };

// Deepest nesting of arrays and objects a request body may have (400 beyond).
inline constexpr int kMaxRequestNesting = 128;
// True when arrays and objects nest deeper than `limit` anywhere in `value` (walked without
// recursion, so a hostile body cannot exhaust the stack).
bool nests_deeper_than(const nlohmann::ordered_json& value, int limit);

// Either the request or the 400 the real API would give for it.
struct ParsedRequest {
  std::optional<MessagesRequest> request;
  std::optional<ApiError> error;
};

ParsedRequest parse_messages_request(std::string_view body, RequestKind kind);
ParsedRequest parse_messages_request(nlohmann::ordered_json body, RequestKind kind);

}  // namespace pensieve::api
