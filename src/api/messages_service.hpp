// api/messages_service: the Messages API endpoints without the HTTP — validation, prompt,
// context checks, admission, submission to the scheduler. The server module only moves bytes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/answer_encoder.hpp"
#include "api/api_backend.hpp"
#include "api/error.hpp"
#include "api/frontend.hpp"
#include "api/models.hpp"
#include "api/response_stream.hpp"
#include "engine/scheduler.hpp"

namespace pensieve::api {

// Decides whether a request with this many prompt tokens and this max_tokens may start now
// (the memory guard plugs in here); nullopt admits it.
using AdmissionCheck = std::function<std::optional<ApiError>(std::int64_t prompt_tokens, std::int64_t max_tokens)>;

class MessagesService {
 public:
  MessagesService(Frontend& frontend, engine::Scheduler& scheduler, ModelInfo model);

  void set_admission_check(AdmissionCheck check) { admission_ = std::move(check); }

  using Started = api::Started;
  // Takes the body: it is freed once parsed, so a large one is not held twice.
  Started create(std::string body, const std::string& request_id);
  // A request already read (by any route), answered in `format`: prompt, context and memory
  // checks, submission.
  Started start(const MessagesRequest& request, const std::string& request_id, const AnswerFormat& format);
  Reply count_tokens(std::string_view body, const std::string& request_id);
  Reply list_models() const;
  Reply get_model(std::string_view id) const;

  const ModelInfo& model() const { return model_; }
  std::size_t context_length() const;
  // The largest body that could carry a prompt the context can take: no token is longer than
  // the vocabulary's longest, and JSON spells a byte in at most six (\u00XX); a slack covers what
  // never becomes prompt text. SIZE_MAX when the frontend does not know its longest token.
  std::size_t largest_useful_body() const;

 private:
  Reply error_reply(const ApiError& error, const std::string& request_id) const;

  Frontend& frontend_;
  engine::Scheduler& scheduler_;
  ModelInfo model_;
  AdmissionCheck admission_;
};

// Whether a prompt and max_tokens fit the context: the one place that decides it, with the two
// context-overflow messages of the real API (clients such as Claude Code read their numbers).
// The engine below only guards its bounds.
std::optional<ApiError> check_context(std::int64_t prompt_tokens, std::int64_t max_tokens, std::int64_t context_length);
// The first of them alone, "at least" when prompt_tokens is a floor on the prompt's length.
std::optional<ApiError> check_prompt_length(std::int64_t prompt_tokens, std::int64_t context_length,
                                            bool at_least);

}  // namespace pensieve::api
