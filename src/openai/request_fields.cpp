#include "openai/request_fields.hpp"

#include <string>

namespace pensieve::openai {
namespace {

using json = nlohmann::ordered_json;
using api::ApiError;
using api::invalid_request;

std::optional<ApiError> number(const json& body, const char* name, double lo, double hi,
                               std::optional<double>& out) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number() || it->get<double>() < lo || it->get<double>() > hi)
    return invalid_request(std::string(name) + ": must be a number from " + json(lo).dump() + " to " +
                           json(hi).dump());
  out = it->get<double>();
  return std::nullopt;
}

// Fields we cannot honour and whose neglect the client would not notice: refused by name.
std::optional<ApiError> refuse_unsupported(const json& body) {
  // `logprobs` is a boolean for chat completions and a count for text completions.
  if (const auto it = body.find("logprobs");
      it != body.end() && !it->is_null() && !(it->is_boolean() && !it->get<bool>()))
    return invalid_request(
        "logprobs: token log probabilities are not supported; leave it out or set it to false");
  if (const auto it = body.find("top_logprobs");
      it != body.end() && !it->is_null() && !(it->is_number_integer() && it->get<std::int64_t>() == 0))
    return invalid_request("top_logprobs: token log probabilities are not supported");
  // An empty map (what many front ends send when nothing is set) biases nothing.
  if (const auto it = body.find("logit_bias"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return invalid_request("logit_bias: must be an object of token ids to biases");
    if (!it->empty())
      return invalid_request("logit_bias: biasing tokens is not supported; send {} or leave it out");
  }
  if (const auto it = body.find("best_of"); it != body.end() && !it->is_null() && *it != 1)
    return invalid_request("best_of: only 1 is supported");
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> read_max_tokens(const json& body, std::initializer_list<const char*> names,
                                        std::int64_t& max_tokens) {
  for (const char* name : names) {
    const auto it = body.find(name);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1)
      return invalid_request(std::string(name) + ": must be a positive integer");
    max_tokens = it->get<std::int64_t>();
    break;
  }
  return std::nullopt;
}

std::optional<ApiError> read_shared_fields(const json& body, api::MessagesRequest& r, SharedFields& shared) {
  if (!body.is_object()) return invalid_request("the body must be a JSON object");
  // Schemas and arguments reach the chat template: a body nested deeper than the Anthropic route
  // takes is refused the same way.
  if (api::nests_deeper_than(body, api::kMaxRequestNesting))
    return invalid_request("the request nests JSON arrays and objects more than " +
                           std::to_string(api::kMaxRequestNesting) + " levels deep");
  if (!body.contains("model") || !body["model"].is_string())
    return invalid_request("model: required, a string");
  r.model = body["model"].get<std::string>();
  if (const auto n = body.find("n"); n != body.end() && !n->is_null() && *n != 1)
    return invalid_request("n: only 1 choice per request is supported");
  if (auto e = refuse_unsupported(body)) return e;
  if (const auto stream = body.find("stream"); stream != body.end() && !stream->is_null()) {
    if (!stream->is_boolean()) return invalid_request("stream: must be a boolean");
    r.stream = stream->get<bool>();
  }
  if (const auto options = body.find("stream_options"); options != body.end() && options->is_object()) {
    const auto usage = options->find("include_usage");
    shared.include_usage = usage != options->end() && usage->is_boolean() && usage->get<bool>();
  }
  // OpenAI takes up to 4; local clients send more (Continue's autocomplete, SillyTavern's custom
  // strings), and every one is honoured.
  if (const auto stop = body.find("stop"); stop != body.end() && !stop->is_null()) {
    if (stop->is_string()) {
      r.stop_sequences.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      for (const json& s : *stop) {
        if (!s.is_string()) return invalid_request("stop: must be a string or an array of strings");
        r.stop_sequences.push_back(s.get<std::string>());
      }
    } else {
      return invalid_request("stop: must be a string or an array of strings");
    }
  }
  if (auto e = number(body, "temperature", 0, 2, r.temperature)) return e;
  if (auto e = number(body, "top_p", 0, 1, r.top_p)) return e;
  if (auto e = number(body, "presence_penalty", -2, 2, r.presence_penalty)) return e;
  if (auto e = number(body, "frequency_penalty", -2, 2, r.frequency_penalty)) return e;
  if (auto e = number(body, "min_p", 0, 1, r.min_p)) return e;
  // The sampler divides a positive logit by it: 0 would divide by zero.
  if (auto e = number(body, "repetition_penalty", 0.01, 10, r.repetition_penalty)) return e;
  // top_k 0 (SillyTavern's "off") and -1 (vLLM's) keep every token.
  if (const auto k = body.find("top_k"); k != body.end() && !k->is_null()) {
    if (!k->is_number_integer() || k->get<std::int64_t>() < -1)
      return invalid_request("top_k: must be a positive integer, or -1 or 0 for no limit");
    if (k->get<std::int64_t>() > 0) r.top_k = k->get<std::int64_t>();
  }
  // A negative seed (SillyTavern's -1) asks for a random one.
  if (const auto seed = body.find("seed"); seed != body.end() && !seed->is_null()) {
    if (!seed->is_number_integer()) return invalid_request("seed: must be an integer");
    if (seed->is_number_unsigned() || seed->get<std::int64_t>() >= 0) r.seed = seed->get<std::uint64_t>();
  }
  return std::nullopt;
}

}  // namespace pensieve::openai
