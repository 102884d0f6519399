// api/api_backend: what answers the API's routes — the local engine (server::LocalBackend) or
// OpenAI-compatible upstream servers (upstream::UpstreamBackend). The server routes bytes to one
// of them and knows nothing of which.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/generation.hpp"

namespace pensieve::api {

struct Reply {
  int status = 200;
  std::string body;  // JSON
};

// An immediate answer (an error), or an answer under way.
struct Started {
  std::optional<Reply> reply;
  std::shared_ptr<Generation> stream;
};

class ApiBackend {
 public:
  virtual ~ApiBackend() = default;

  // Each takes its body: it is freed once parsed, so that a large one is not held twice.
  virtual Started messages(std::string body, const std::string& request_id) = 0;          // POST /v1/messages
  virtual Started chat_completions(std::string body, const std::string& request_id) = 0;  // OpenAI
  virtual Started completions(std::string body, const std::string& request_id) = 0;       // OpenAI, text
  virtual Reply count_tokens(std::string_view body, const std::string& request_id) = 0;
  virtual Reply list_models() const = 0;
  virtual Reply get_model(std::string_view id) const = 0;

  // The model /health names.
  virtual std::string model_id() const = 0;
  // The largest body worth reading (SIZE_MAX when the backend cannot tell), and why a larger one
  // is refused.
  virtual std::size_t largest_useful_body() const = 0;
  virtual std::string body_limit_reason(std::size_t limit) const = 0;
};

}  // namespace pensieve::api
