// upstream/upstream_error: what an OpenAI-compatible upstream said went wrong, as the error the
// front's own client gets — the upstream's message, said to be the upstream's, with the status
// that tells the client whose fault it was.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/error.hpp"

namespace pensieve::upstream {

// The message of an error body in any of the shapes upstreams send: OpenAI's and Anthropic's
// {"error": {"message", "type"}}, vLLM's and SGLang's {"object": "error", "message"}, FastAPI's
// {"detail": "…" or [{"loc", "msg"}]}, {"error": "…"}, {"message": "…"}. nullopt when `body`
// is none of them.
std::optional<std::string> error_message(const nlohmann::ordered_json& body);

// An upstream's HTTP error answer (its status and body, JSON in a shape above or plain text):
// 400/404/413/422 (422: vLLM's validation error) → 400 invalid_request_error; 401/403 → 502
// api_error (the front's own key to the upstream is wrong, not the client's); 429/503/529 → 529
// overloaded_error; anything else → 502 api_error.
api::ApiError upstream_error(int http_status, std::string_view body);

// An error object met inside an answer that had begun (a stream's {"error": {…}} chunk): its
// status from the object's numeric code (vLLM puts the HTTP status there) or type, else 502.
api::ApiError upstream_error_object(const nlohmann::ordered_json& body);

}  // namespace pensieve::upstream
