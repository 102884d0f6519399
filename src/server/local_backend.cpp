#include "server/local_backend.hpp"

#include "openai/chat_completions.hpp"
#include "openai/text_completions.hpp"

namespace pensieve::server {

api::Started LocalBackend::messages(std::string body, const std::string& request_id) {
  return service_.create(std::move(body), request_id);
}

api::Started LocalBackend::chat_completions(std::string body, const std::string& request_id) {
  return openai::create_chat_completion(service_, std::move(body), request_id);
}

api::Started LocalBackend::completions(std::string body, const std::string& request_id) {
  return openai::create_text_completion(service_, std::move(body), request_id);
}

api::Reply LocalBackend::count_tokens(std::string_view body, const std::string& request_id) {
  return service_.count_tokens(body, request_id);
}

api::Reply LocalBackend::list_models() const {
  return service_.list_models();
}

api::Reply LocalBackend::get_model(std::string_view id) const {
  return service_.get_model(id);
}

std::string LocalBackend::model_id() const {
  return service_.model().id;
}

std::size_t LocalBackend::largest_useful_body() const {
  return service_.largest_useful_body();
}

std::string LocalBackend::body_limit_reason(std::size_t limit) const {
  return "request exceeds " + std::to_string(limit) +
         " bytes, more than any prompt this model's context of " + std::to_string(service_.context_length()) +
         " tokens can hold";
}

}  // namespace pensieve::server
