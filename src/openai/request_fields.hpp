// openai/request_fields: the fields a chat completion and a text completion share — model, n,
// stream and stream_options, stop, the sampling settings (temperature, top_p, seed, the presence
// and frequency penalties, and the top_k/min_p/repetition_penalty extensions local servers take)
// — and those refused because ignoring them would change the answer without a word: token log
// probabilities, a non-empty logit_bias, best_of above 1. Everything else a client sends (user,
// metadata, service_tier, store, …) is ignored. Checked as read; an error names the field.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "api/error.hpp"
#include "api/messages_request.hpp"

namespace pensieve::openai {

struct SharedFields {
  bool include_usage = false;  // stream_options.include_usage
};

// Reads them from `body` (a JSON object) into `request` and `shared`.
std::optional<api::ApiError> read_shared_fields(const nlohmann::ordered_json& body,
                                                api::MessagesRequest& request, SharedFields& shared);

// The first of `names` present and not null, as a positive integer, into `max_tokens`.
std::optional<api::ApiError> read_max_tokens(const nlohmann::ordered_json& body,
                                             std::initializer_list<const char*> names,
                                             std::int64_t& max_tokens);

}  // namespace pensieve::openai
