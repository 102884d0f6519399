#include "openai/text_completion_encoder.hpp"

#include <nlohmann/json.hpp>

#include "api/json_text.hpp"
#include "openai/answer_format.hpp"
#include "openai/completion_encoder.hpp"

namespace pensieve::openai {

using nlohmann::ordered_json;

TextCompletionEncoder::TextCompletionEncoder(Options options) : options_(std::move(options)) {}

void TextCompletionEncoder::prompt_cache(std::int64_t read, std::int64_t /*written*/) {
  cached_tokens_ = read;
}

void TextCompletionEncoder::chunk_head(std::string& out) const {
  append_chunk_head(out, options_.id, "text_completion", options_.created, options_.model);
}

void TextCompletionEncoder::chunk(std::string_view text, const char* finish_reason, std::string& out) const {
  chunk_head(out);
  out += ",\"choices\":[{\"text\":";
  api::append_json_string(out, text);
  out += ",\"index\":0";
  append_choice_end(out, finish_reason);
}

void TextCompletionEncoder::start(std::string& out) {
  if (options_.echo.empty()) return;
  if (options_.streaming)
    chunk(options_.echo, nullptr, out);
  else
    text_ = options_.echo;
}

void TextCompletionEncoder::event(const chat::ChatEvent& e, std::string& out) {
  if (e.kind != chat::ChatEventKind::kText) return;
  if (options_.streaming)
    chunk(e.text, nullptr, out);
  else
    text_ += e.text;
}

void TextCompletionEncoder::end(api::StopReason reason, std::optional<std::string> /*stop_sequence*/,
                                std::int64_t output_tokens, std::string& out) {
  const auto usage = usage_object(options_.prompt_tokens, output_tokens, cached_tokens_);
  if (options_.streaming) {
    chunk("", finish_reason(reason), out);
    if (options_.include_usage) {
      chunk_head(out);
      out += ",\"choices\":[],\"usage\":" + dumped(usage) + "}\n\n";
    }
    out += "data: [DONE]\n\n";
    return;
  }
  ordered_json body{{"id", options_.id},
                    {"object", "text_completion"},
                    {"created", options_.created},
                    {"model", options_.model},
                    {"choices", ordered_json::array({{{"text", text_},
                                                      {"index", 0},
                                                      {"logprobs", nullptr},
                                                      {"finish_reason", finish_reason(reason)}}})},
                    {"usage", usage}};
  out = dumped(body);
}

void TextCompletionEncoder::fail(const api::ApiError& error, std::string& out) {
  append_failure(error, options_.streaming, out);
}

}  // namespace pensieve::openai
