// upstream/chat_body: an Anthropic Messages request (already parsed and checked) as the OpenAI
// chat-completions body that asks an OpenAI-compatible upstream (vLLM, SGLang, another pensieve)
// for the same answer. Pure translation: no network, no model.
//
// The body always streams, with usage in a last chunk; the front builds a whole answer itself
// when its own client did not stream. Stop sequences stay with the front (see chat_body.cpp).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/error.hpp"
#include "api/messages_request.hpp"

namespace pensieve::upstream {

// The 400 to answer when `request` holds something an OpenAI chat body has no place for: image or
// document blocks (the typed conversation keeps only that they were there), blocks of other types,
// blocks in a role that cannot carry them, tools without an input_schema (Anthropic's server
// tools). Names the first such thing; nullopt when the request can be forwarded.
std::optional<api::ApiError> check_forwardable(const api::MessagesRequest& request);

// The chat-completions body for `request`, asking for `model` (the upstream's model id). Call it
// only for a request check_forwardable() passed: what it would refuse is left out here.
nlohmann::ordered_json chat_completion_body(const api::MessagesRequest& request, const std::string& model);

// A text completion (POST /v1/completions, its raw_prompt continued as it is) for the upstream:
// the prompt and the same sampling fields, streamed, with usage. Echo is the front's to write.
nlohmann::ordered_json text_completion_body(const api::MessagesRequest& request, const std::string& model);

}  // namespace pensieve::upstream
