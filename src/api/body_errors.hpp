// api/body_errors: the real API's wording for a body that fails its checks, so that clients
// that parse those messages (or people who search for them) find what they expect.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "api/error.hpp"

namespace pensieve::api {

// "messages" and 2 → "messages.2": a list item as the API names it.
inline std::string item_path(std::string_view list, std::size_t i) {
  return std::string(list) + "." + std::to_string(i);
}

inline std::optional<ApiError> body_error(std::string message) {
  return invalid_request(std::move(message));
}

inline std::optional<ApiError> field_required(const std::string& name) {
  return body_error(name + ": Field required");
}

}  // namespace pensieve::api
