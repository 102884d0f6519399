// server/local_backend: the API's routes answered by the local engine — the Messages service for
// Anthropic's routes, and OpenAI's readers and encoders on the same service for OpenAI's.
#pragma once

#include "api/api_backend.hpp"
#include "api/messages_service.hpp"

namespace pensieve::server {

class LocalBackend final : public api::ApiBackend {
 public:
  explicit LocalBackend(api::MessagesService& service) : service_(service) {}

  api::Started messages(std::string body, const std::string& request_id) override;
  api::Started chat_completions(std::string body, const std::string& request_id) override;
  api::Started completions(std::string body, const std::string& request_id) override;
  api::Reply count_tokens(std::string_view body, const std::string& request_id) override;
  api::Reply list_models() const override;
  api::Reply get_model(std::string_view id) const override;
  std::string model_id() const override;
  std::size_t largest_useful_body() const override;
  std::string body_limit_reason(std::size_t limit) const override;

 private:
  api::MessagesService& service_;
};

}  // namespace pensieve::server
