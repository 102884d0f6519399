// upstream/upstream_backend: the API's routes answered by OpenAI-compatible upstream servers
// (`pensieve serve --upstream URL…`). A request is read and checked as the local engine reads it
// (the same typed request for Anthropic's and OpenAI's routes), translated to a chat completion,
// and relayed through ForwardedAnswer, which picks the upstream.
//
// What needs the model itself is estimated here, and said so: count_tokens and the prompt size
// in a stream's first event (about four bytes a token; the final usage is the upstream's).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "api/answer_encoder.hpp"
#include "api/api_backend.hpp"
#include "api/messages_request.hpp"
#include "api/models.hpp"
#include "upstream/http_client.hpp"
#include "upstream/upstream_pool.hpp"

namespace pensieve::upstream {

struct UpstreamBackendOptions {
  std::string upstream_model;  // the model id sent upstream
  api::ModelInfo model;        // what /v1/models shows clients
  std::string key;             // sent upstream as a bearer token and x-api-key; empty: none
  std::chrono::milliseconds connect_timeout{3000};
};

class UpstreamBackend final : public api::ApiBackend {
 public:
  UpstreamBackend(UpstreamBackendOptions options, UpstreamPool& pool, HttpClient& client);

  api::Started messages(std::string body, const std::string& request_id) override;
  api::Started chat_completions(std::string body, const std::string& request_id) override;
  api::Started completions(std::string body, const std::string& request_id) override;
  api::Reply count_tokens(std::string_view body, const std::string& request_id) override;
  api::Reply list_models() const override;
  api::Reply get_model(std::string_view id) const override;
  std::string model_id() const override { return options_.model.id; }
  std::size_t largest_useful_body() const override { return SIZE_MAX; }
  std::string body_limit_reason(std::size_t limit) const override;

  // Requests waiting for an upstream's answer to begin (a worker thread each): a graceful
  // shutdown waits for them as for the answers being written.
  std::size_t opening() const { return opening_.load(); }

 private:
  api::Started forward_chat(const api::MessagesRequest& request, const std::string& request_id,
                            const api::AnswerFormat& format);
  // `body`: the upstream's request; `path`: its route under the upstream's API base.
  api::Started forward(const api::MessagesRequest& request, const nlohmann::ordered_json& body,
                       std::uint64_t key, std::string path, const std::string& request_id,
                       const api::AnswerFormat& format);

  UpstreamBackendOptions options_;
  UpstreamPool& pool_;
  HttpClient& client_;
  std::atomic<std::size_t> opening_{0};
};

// What keeps a conversation on one upstream: a hash of the tools, the system prompt and the
// messages up to the first user message, which every later turn repeats (a new conversation with
// the same system prompt may go elsewhere).
std::uint64_t prefix_key(const nlohmann::ordered_json& chat_body);

// About four bytes of text a token: an estimate, for what only the upstream's model can count.
std::int64_t estimate_tokens(std::size_t bytes);

}  // namespace pensieve::upstream
