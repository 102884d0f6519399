// Shapes read (OpenAI's documented chunk and completion objects, as vLLM, SGLang and pensieve
// write them): reasoning in `reasoning_content` or `reasoning`; tool calls by `index`, the id and
// name usually first and the arguments in later pieces, though any piece may come with any other
// and the name may come after arguments; a usage chunk with empty choices; null and empty fields
// anywhere. Only choice 0 is read.
#include "upstream/completion_reader.hpp"

#include <utility>

#include "chat/tool_call_writer.hpp"
#include "upstream/upstream_error.hpp"

namespace pensieve::upstream {
namespace {

using json = nlohmann::ordered_json;

// The longest SSE event read: far beyond any chunk, short of what a runaway line would take.
constexpr std::size_t kMaxEvent = std::size_t{16} << 20;
// How much of a bad chunk an error message quotes.
constexpr std::size_t kQuoted = 200;

std::string quoted(std::string_view text) {
  if (text.size() <= kQuoted) return std::string(text);
  std::size_t end = kQuoted;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "…";
}

const json* member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

bool arguments_valid(const std::string& arguments) {
  if (arguments.empty()) return true;  // a call without arguments: the front reads {}
  const json parsed = json::parse(arguments, nullptr, false);
  return !parsed.is_discarded() && parsed.is_object();
}

}  // namespace

CompletionReader::CompletionReader(bool event_stream, std::function<std::string()> make_id)
    : event_stream_(event_stream),
      make_id_(make_id ? std::move(make_id) : chat::default_tool_call_id_maker()) {}

void CompletionReader::malformed(const std::string& what) {
  if (!error_) error_ = api::bad_gateway("The upstream model server sent a malformed answer: " + what);
}

void CompletionReader::feed(std::string_view bytes, chat::EventSink& sink) {
  if (error_) return;
  const std::size_t scanned = pending_.size();  // holds no newline
  pending_.append(bytes);
  if (!event_stream_) return;  // one body, read whole at finish()
  std::size_t at = 0;
  for (std::size_t newline = pending_.find('\n', scanned); !error_ && newline != std::string::npos;
       newline = pending_.find('\n', at)) {
    std::string_view line(pending_.data() + at, newline - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    read_line(line, sink);
    at = newline + 1;
  }
  pending_.erase(0, at);
  if (!error_ && pending_.size() + data_.size() > kMaxEvent)
    malformed("an event longer than " + std::to_string(kMaxEvent >> 20) + " MiB");
}

void CompletionReader::read_line(std::string_view line, chat::EventSink& sink) {
  if (line.empty()) {
    dispatch(sink);
    return;
  }
  if (line.front() == ':') return;  // a comment (": ping")
  const std::size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  if (field != "data") return;  // event:, id:, retry:
  std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
}

void CompletionReader::dispatch(chat::EventSink& sink) {
  if (!has_data_) return;
  read_chunk(data_, sink);
  data_.clear();
  has_data_ = false;
}

void CompletionReader::read_chunk(std::string_view data, chat::EventSink& sink) {
  if (done_ || error_) return;
  if (data == "[DONE]") {
    done_ = true;
    finished_ = true;
    return;
  }
  const json chunk = json::parse(data, nullptr, false);
  if (chunk.is_discarded() || !chunk.is_object()) {
    malformed("a chunk is not a JSON object: " + quoted(data));
    return;
  }
  if (read_error_object(chunk)) return;
  read_usage(chunk);
  const json* choices = member(chunk, "choices");
  if (choices == nullptr) return;
  if (!choices->is_array()) {
    malformed("\"choices\" is not an array in the chunk " + quoted(data));
    return;
  }
  for (const json& choice : *choices) {
    if (!choice.is_object()) {
      malformed("a choice is not an object in the chunk " + quoted(data));
      return;
    }
    const json* index = member(choice, "index");
    if (index != nullptr && *index != 0) continue;
    if (const json* delta = member(choice, "delta")) {
      if (!delta->is_object()) {
        malformed("\"delta\" is not an object in the chunk " + quoted(data));
        return;
      }
      read_delta(*delta, sink);
      if (error_) return;
    } else if (const json* text = member(choice, "text"); text != nullptr && text->is_string()) {
      // A text completion's chunk (POST /v1/completions): its text is the answer's.
      json as_delta{{"content", *text}};
      read_delta(as_delta, sink);
      if (error_) return;
    }
    read_finish(choice, sink);
  }
}

bool CompletionReader::read_error_object(const json& object) {
  const bool error =
      member(object, "error") != nullptr || (object.contains("object") && object["object"] == "error");
  if (error && !error_) error_ = upstream_error_object(object);
  return error;
}

void CompletionReader::read_usage(const json& object) {
  const json* usage = member(object, "usage");
  if (usage == nullptr || !usage->is_object()) return;
  const auto count = [](const json& o, const char* key) -> std::int64_t {
    const json* v = member(o, key);
    return v != nullptr && v->is_number_integer() ? v->get<std::int64_t>() : 0;
  };
  Usage u;
  u.prompt_tokens = count(*usage, "prompt_tokens");
  u.completion_tokens = count(*usage, "completion_tokens");
  if (const json* details = member(*usage, "prompt_tokens_details");
      details != nullptr && details->is_object())
    u.cached_tokens = count(*details, "cached_tokens");
  usage_ = u;
}

void CompletionReader::read_finish(const json& choice, chat::EventSink& sink) {
  const json* reason = member(choice, "finish_reason");
  if (reason == nullptr || !reason->is_string() || reason->get_ref<const std::string&>().empty()) return;
  const std::string& r = reason->get_ref<const std::string&>();
  if (r == "abort" || r == "error") {
    if (!error_)
      error_ =
          api::bad_gateway("The upstream model server aborted the generation (finish_reason \"" + r + "\")");
    return;
  }
  if (call_) end_call(true, sink);
  if (r == "length") {
    stop_reason_ = api::StopReason::kMaxTokens;
  } else if (r == "tool_calls" || r == "function_call" || calls_ > 0) {
    // Some servers finish a forced (named or required) call with "stop"; Anthropic's answer with
    // tool_use blocks stops for tool_use all the same.
    stop_reason_ = api::StopReason::kToolUse;
  } else {
    stop_reason_ = api::StopReason::kEndTurn;  // stop, content_filter and any other
  }
  finished_ = true;
}

void CompletionReader::read_delta(const json& delta, chat::EventSink& sink) {
  // Servers in transition send both names with the same text: one of them is read.
  const json* reasoning = member(delta, "reasoning_content");
  if (reasoning == nullptr || (reasoning->is_string() && reasoning->get_ref<const std::string&>().empty()))
    reasoning = member(delta, "reasoning");
  if (reasoning != nullptr) {
    if (!reasoning->is_string()) return malformed("\"reasoning_content\" is not a string");
    text(reasoning->get_ref<const std::string&>(), true, sink);
  }
  if (const json* content = member(delta, "content")) {
    if (!content->is_string()) return malformed("\"content\" is not a string");
    text(content->get_ref<const std::string&>(), false, sink);
  }
  if (const json* calls = member(delta, "tool_calls")) {
    if (!calls->is_array()) return malformed("\"tool_calls\" is not an array");
    for (const json& call : *calls) {
      if (!read_tool_call(call, sink)) return;
    }
  }
}

bool CompletionReader::read_tool_call(const json& call, chat::EventSink& sink) {
  if (!call.is_object()) {
    malformed("a tool call is not an object");
    return false;
  }
  std::string id, name, arguments;
  if (const json* v = member(call, "id"); v != nullptr && v->is_string()) id = v->get<std::string>();
  if (const json* f = member(call, "function")) {
    if (!f->is_object()) {
      malformed("a tool call's \"function\" is not an object");
      return false;
    }
    if (const json* v = member(*f, "name"); v != nullptr && v->is_string()) name = v->get<std::string>();
    if (const json* v = member(*f, "arguments")) {
      // A string by the spec; an object from a lenient server means the same arguments.
      if (v->is_string())
        arguments = v->get<std::string>();
      else if (v->is_object())
        arguments = v->dump(-1, ' ', false, json::error_handler_t::replace);
      else {
        malformed("a tool call's \"function.arguments\" is not a string");
        return false;
      }
    }
  }
  std::int64_t index = 0;
  if (const json* v = member(call, "index")) {
    if (!v->is_number_integer()) {
      malformed("a tool call's \"index\" is not an integer");
      return false;
    }
    index = v->get<std::int64_t>();
  } else if (call_) {
    // No index (not OpenAI's shape, but seen): a new id starts the next call.
    index = !id.empty() && id != call_->id ? call_->index + 1 : call_->index;
  } else {
    index = calls_;
  }
  if (!call_ || index != call_->index) {
    if (call_ && index < call_->index) {
      malformed("tool call " + std::to_string(index) + " continued after tool call " +
                std::to_string(call_->index) + " had begun");
      return false;
    }
    if (call_) end_call(true, sink);
    if (error_) return false;
    call_ = ToolCall{index, std::move(id), {}, {}, false};
  } else if (!id.empty() && call_->id.empty()) {
    call_->id = std::move(id);
  }
  if (!name.empty() && !call_->started) {
    call_->name = std::move(name);
    start_call(sink);
  }
  if (!arguments.empty()) {
    call_->arguments += arguments;
    if (call_->started) sink.arguments(arguments);
  }
  return true;
}

void CompletionReader::text(std::string_view delta, bool reasoning, chat::EventSink& sink) {
  if (delta.empty()) return;
  if (call_) end_call(true, sink);  // text after a call: the call is over
  if (error_) return;
  began_ = true;
  if (reasoning)
    sink.reasoning(delta);
  else
    sink.text(delta);
}

void CompletionReader::start_call(chat::EventSink& sink) {
  ToolCall& call = *call_;
  sink.tool_call_start(call.id.empty() ? make_id_() : call.id, call.name);
  sink.arguments(call.arguments);  // any that came before the name
  call.started = true;
  began_ = true;
  ++calls_;
}

void CompletionReader::end_call(bool complete, chat::EventSink& sink) {
  if (!call_) return;
  const ToolCall call = std::move(*call_);
  call_.reset();
  if (!call.started) {
    malformed("tool call " + std::to_string(call.index) + " has no function name");
    return;
  }
  sink.tool_call_end(complete && arguments_valid(call.arguments));
}

void CompletionReader::read_body(chat::EventSink& sink) {
  const json body = json::parse(pending_, nullptr, false);
  pending_.clear();
  if (body.is_discarded() || !body.is_object()) return malformed("the body is not a JSON object");
  if (read_error_object(body)) return;
  read_usage(body);
  const json* choices = member(body, "choices");
  if (choices == nullptr || !choices->is_array()) return malformed("the body has no \"choices\" array");
  for (const json& choice : *choices) {
    if (!choice.is_object()) return malformed("a choice is not an object");
    const json* index = member(choice, "index");
    if (index != nullptr && *index != 0) continue;
    const json* message = member(choice, "message");
    const json* text = member(choice, "text");
    if ((message == nullptr || !message->is_object()) && (text == nullptr || !text->is_string()))
      return malformed("choice 0 has no \"message\" object");
    // The message is one delta that holds everything; its calls carry no index. A text
    // completion's choice has its text instead.
    json delta = message != nullptr && message->is_object() ? *message : json{{"content", *text}};
    if (json* calls = delta.contains("tool_calls") ? &delta["tool_calls"] : nullptr;
        calls && calls->is_array()) {
      for (std::size_t i = 0; i < calls->size(); ++i) {
        if ((*calls)[i].is_object()) (*calls)[i]["index"] = i;
      }
    }
    read_delta(delta, sink);
    if (error_) return;
    read_finish(choice, sink);
    break;
  }
}

void CompletionReader::finish(chat::EventSink& sink) {
  if (event_stream_) {
    if (!error_ && !pending_.empty()) {
      read_line(pending_, sink);  // a last line without its newline
      pending_.clear();
    }
    // An event the stream ended in is read if it is whole; one cut in the middle is not a
    // malformed chunk but a cut answer, reported as such below.
    if (!error_ && has_data_ && (data_ == "[DONE]" || json::accept(data_))) dispatch(sink);
  } else if (!error_) {
    read_body(sink);
    if (!error_) finished_ = true;
  }
  // Read to its end without a finish_reason: a call still open is complete only if the answer
  // said it was done ([DONE], or a whole body).
  const bool ended_cleanly = done_ || (finished_ && !event_stream_);
  if (call_) end_call(ended_cleanly && !error_, sink);
  if (error_ || stop_reason_) return;
  if (ended_cleanly) {
    // Ended properly but never said why: it ended its turn, with the calls it made.
    stop_reason_ = calls_ > 0 ? api::StopReason::kToolUse : api::StopReason::kEndTurn;
    return;
  }
  error_ = api::bad_gateway(
      "The upstream model server's answer ended before it finished (no finish_reason or [DONE]): the "
      "connection was cut or the upstream stopped");
}

}  // namespace pensieve::upstream
