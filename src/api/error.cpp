#include "api/error.hpp"

#include <nlohmann/json.hpp>

#include "engine/generation.hpp"

namespace pensieve::api {

ApiError invalid_request(std::string message) { return {400, "invalid_request_error", std::move(message)}; }
ApiError authentication_failed(std::string message) {
  return {401, "authentication_error", std::move(message)};
}
ApiError not_found(std::string message) { return {404, "not_found_error", std::move(message)}; }
ApiError request_too_large(std::string message) { return {413, "request_too_large", std::move(message)}; }
ApiError overloaded(std::string message, int http_status) {
  return {http_status, "overloaded_error", std::move(message)};
}
ApiError internal_error(std::string message) { return {500, "api_error", std::move(message)}; }
ApiError bad_gateway(std::string message) {
  return {502, "api_error", std::move(message)};
}
ApiError shutting_down() {
  return overloaded(engine::kShuttingDown, 503);
}

ApiError from_error(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kInvalidFormat:
    case ErrorCode::kOutOfRange:
    case ErrorCode::kUnsupported:
      return invalid_request(error.message);
    case ErrorCode::kResourceExhausted:
      return overloaded(error.message);
    default:
      return internal_error(error.message);
  }
}

std::string error_body(const ApiError& error, std::string_view request_id) {
  nlohmann::ordered_json body;
  body["type"] = "error";
  body["error"] = {{"type", error.type}, {"message", error.message}};
  body["request_id"] = request_id;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pensieve::api
