// api/error: the Anthropic error envelope and the HTTP status each error type travels with.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace pensieve::api {

struct ApiError {
  int http_status = 500;
  std::string type;     // invalid_request_error, authentication_error, not_found_error, ...
  std::string message;
};

ApiError invalid_request(std::string message);            // 400
ApiError authentication_failed(std::string message);      // 401
ApiError not_found(std::string message = "Not Found");    // 404
ApiError request_too_large(std::string message =
                               "Request exceeds the maximum allowed number of bytes.");  // 413
ApiError overloaded(std::string message = "Overloaded", int http_status = 529);
ApiError internal_error(std::string message);             // 500
// 502 api_error: a server this one forwards to failed or answered with something unusable.
ApiError bad_gateway(std::string message);
// 503 overloaded_error: the server is draining before it stops and takes no new generation.
ApiError shutting_down();

// A pensieve Error as the API reports it: bad input is a 400, everything else a 500.
ApiError from_error(const Error& error);

// {"type":"error","error":{"type":…,"message":…},"request_id":…}
std::string error_body(const ApiError& error, std::string_view request_id);

}  // namespace pensieve::api
