#include "openai/text_completion_request.hpp"

#include <nlohmann/json.hpp>
#include <string>

#include "openai/request_fields.hpp"

namespace pensieve::openai {
namespace {

using json = nlohmann::ordered_json;
using api::ApiError;
using api::invalid_request;

// A string, or an array of one string (what the SDKs send for a single prompt given as a list).
std::optional<ApiError> read_prompt(const json& body, std::string& out) {
  const auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) return invalid_request("prompt: required, a string");
  if (it->is_string()) {
    out = it->get<std::string>();
    return std::nullopt;
  }
  if (it->is_array() && it->size() == 1 && (*it)[0].is_string()) {
    out = (*it)[0].get<std::string>();
    return std::nullopt;
  }
  if (it->is_array() && !it->empty() && ((*it)[0].is_number_integer() || (*it)[0].is_array()))
    return invalid_request("prompt: prompts of token ids are not supported; send the prompt as a string");
  if (it->is_array() && it->size() > 1)
    return invalid_request("prompt: only one prompt per request is supported; send a string");
  return invalid_request("prompt: must be a string");
}

std::optional<ApiError> read_fields(const json& body, TextCompletionRequest& completion) {
  api::MessagesRequest& r = completion.request;
  SharedFields shared;
  if (auto e = read_shared_fields(body, r, shared)) return e;
  completion.include_usage = shared.include_usage;
  // Fill-in-the-middle needs the model's own FIM tokens around prefix and suffix; a client that
  // wants it can write them into the prompt itself.
  if (const auto suffix = body.find("suffix"); suffix != body.end() && !suffix->is_null() &&
                                               !(suffix->is_string() && suffix->get<std::string>().empty()))
    return invalid_request(
        "suffix: fill-in-the-middle is not supported; write the model's FIM tokens into the prompt instead");
  if (const auto echo = body.find("echo"); echo != body.end() && !echo->is_null()) {
    if (!echo->is_boolean()) return invalid_request("echo: must be a boolean");
    completion.echo = echo->get<bool>();
  }
  r.max_tokens = kTextCompletionMaxTokens;
  if (auto e = read_max_tokens(body, {"max_tokens"}, r.max_tokens)) return e;
  std::string prompt;
  if (auto e = read_prompt(body, prompt)) return e;
  r.raw_prompt = std::move(prompt);
  return std::nullopt;
}

}  // namespace

ParsedTextCompletionRequest parse_text_completion_request(std::string_view body) {
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return {std::nullopt, invalid_request("the body is not valid JSON")};
  TextCompletionRequest completion;
  if (auto e = read_fields(parsed, completion)) return {std::nullopt, std::move(e)};
  return {std::move(completion), std::nullopt};
}

}  // namespace pensieve::openai
