#include "openai/completion_encoder.hpp"

#include <nlohmann/json.hpp>

#include "api/json_text.hpp"
#include "api/message_builder.hpp"
#include "openai/answer_format.hpp"

namespace pensieve::openai {

using nlohmann::ordered_json;

const char* finish_reason(api::StopReason reason) {
  switch (reason) {
    case api::StopReason::kEndTurn:
    case api::StopReason::kStopSequence:
      return "stop";
    case api::StopReason::kMaxTokens:
      return "length";
    case api::StopReason::kToolUse:
      return "tool_calls";
  }
  return "stop";
}

namespace {

// OpenAI's error types for the Anthropic-style ones the rest of the server makes.
std::string error_type(const api::ApiError& error) {
  if (error.http_status == 401) return "invalid_api_key";
  if (error.http_status == 404) return "not_found_error";
  if (error.http_status == 429 || error.http_status >= 500) return "server_error";
  return "invalid_request_error";
}

}  // namespace

std::string dumped(const ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ordered_json usage_object(std::int64_t prompt_tokens, std::int64_t completion_tokens,
                          std::int64_t cached_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", cached_tokens}}}};
}

std::string error_body(const api::ApiError& error) {
  return dumped(
      {{"error",
        {{"message", error.message}, {"type", error_type(error)}, {"param", nullptr}, {"code", nullptr}}}});
}

CompletionEncoder::CompletionEncoder(Options options) : options_(std::move(options)) {}

void CompletionEncoder::prompt_cache(std::int64_t read, std::int64_t /*written*/) {
  cached_tokens_ = read;
}

void CompletionEncoder::chunk_head(std::string& out) const {
  append_chunk_head(out, options_.id, "chat.completion.chunk", options_.created, options_.model);
}

void CompletionEncoder::open_chunk(std::string& out) const {
  chunk_head(out);
  out += ",\"choices\":[{\"index\":0,\"delta\":";
}

void CompletionEncoder::close_chunk(std::string& out, const char* finish_reason) const {
  append_choice_end(out, finish_reason);
}

void CompletionEncoder::start(std::string& out) {
  if (!options_.streaming) return;
  open_chunk(out);
  out += "{\"role\":\"assistant\",\"content\":\"\"}";
  close_chunk(out, nullptr);
}

void CompletionEncoder::event(const chat::ChatEvent& e, std::string& out) {
  switch (e.kind) {
    case chat::ChatEventKind::kText:
    case chat::ChatEventKind::kReasoning: {
      const bool text = e.kind == chat::ChatEventKind::kText;
      if (!options_.streaming) {
        (text ? content_ : reasoning_) += e.text;
        return;
      }
      open_chunk(out);
      out += text ? "{\"content\":" : "{\"reasoning_content\":";
      api::append_json_string(out, e.text);
      out += '}';
      close_chunk(out, nullptr);
      return;
    }
    case chat::ChatEventKind::kToolCallStart: {
      tool_calls_.push_back({e.id.empty() ? api::random_id("call_") : e.id, e.name, {}});
      if (!options_.streaming) return;
      open_chunk(out);
      out += "{\"tool_calls\":[{\"index\":";
      api::append_decimal(out, tool_calls_.size() - 1);
      out += ",\"id\":";
      api::append_json_string(out, tool_calls_.back().id);
      out += ",\"type\":\"function\",\"function\":{\"name\":";
      api::append_json_string(out, e.name);
      out += ",\"arguments\":\"\"}}]}";
      close_chunk(out, nullptr);
      return;
    }
    case chat::ChatEventKind::kToolCallArguments: {
      if (tool_calls_.empty()) return;
      if (!options_.streaming) {
        tool_calls_.back().arguments += e.text;
        return;
      }
      open_chunk(out);
      out += "{\"tool_calls\":[{\"index\":";
      api::append_decimal(out, tool_calls_.size() - 1);
      out += ",\"function\":{\"arguments\":";
      api::append_json_string(out, e.text);
      out += "}}]}";
      close_chunk(out, nullptr);
      return;
    }
    case chat::ChatEventKind::kToolCallEnd:
      return;
  }
}

void CompletionEncoder::end(api::StopReason reason, std::optional<std::string> /*stop_sequence*/,
                            std::int64_t output_tokens, std::string& out) {
  if (options_.streaming) {
    open_chunk(out);
    out += "{}";
    close_chunk(out, finish_reason(reason));
    if (options_.include_usage) {
      chunk_head(out);
      out += ",\"choices\":[],\"usage\":" +
             dumped(usage_object(options_.prompt_tokens, output_tokens, cached_tokens_)) + "}\n\n";
    }
    out += "data: [DONE]\n\n";
    return;
  }
  ordered_json message{
      {"role", "assistant"},
      {"content", content_.empty() && !tool_calls_.empty() ? ordered_json() : ordered_json(content_)}};
  if (!reasoning_.empty()) message["reasoning_content"] = reasoning_;
  if (!tool_calls_.empty()) {
    ordered_json calls = ordered_json::array();
    for (const ToolCall& c : tool_calls_)
      calls.push_back(
          {{"id", c.id},
           {"type", "function"},
           {"function", {{"name", c.name}, {"arguments", c.arguments.empty() ? "{}" : c.arguments}}}});
    message["tool_calls"] = std::move(calls);
  }
  ordered_json body{{"id", options_.id},
                    {"object", "chat.completion"},
                    {"created", options_.created},
                    {"model", options_.model},
                    {"choices", ordered_json::array({{{"index", 0},
                                                      {"message", std::move(message)},
                                                      {"logprobs", nullptr},
                                                      {"finish_reason", finish_reason(reason)}}})},
                    {"usage", usage_object(options_.prompt_tokens, output_tokens, cached_tokens_)}};
  out = dumped(body);
}

void CompletionEncoder::fail(const api::ApiError& error, std::string& out) {
  append_failure(error, options_.streaming, out);
}

}  // namespace pensieve::openai
