#include "api/message_builder.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

#include "api/json_text.hpp"
#include "api/messages_request.hpp"

namespace pensieve::api {

using nlohmann::ordered_json;

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::kEndTurn: return "end_turn";
    case StopReason::kMaxTokens: return "max_tokens";
    case StopReason::kStopSequence: return "stop_sequence";
    case StopReason::kToolUse: return "tool_use";
  }
  return "end_turn";
}

std::string sse_frame(std::string_view event, const ordered_json& data) {
  std::string frame = "event: ";
  frame += event;
  frame += "\ndata: ";
  // Generated text may hold broken UTF-8 only through a bug upstream; replace it, never throw.
  frame += data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  frame += "\n\n";
  return frame;
}

AnswerFormat anthropic_format() {
  AnswerFormat f;
  f.encoder = [](const MessagesRequest& request, std::int64_t prompt_tokens, const std::string& request_id) {
    return std::make_unique<MessageBuilder>(random_id("msg_"), request.model, Usage{prompt_tokens, 0, 0, 0},
                                            request.stream, request_id);
  };
  f.error_body = [](const ApiError& error, const std::string& request_id) {
    return error_body(error, request_id);
  };
  f.ping = ping_frame();
  return f;
}

std::string ping_frame() { return sse_frame("ping", ordered_json{{"type", "ping"}}); }

std::string error_frame(const ApiError& error) {
  return sse_frame("error", ordered_json{{"type", "error"}, {"error", {{"type", error.type}, {"message", error.message}}}});
}

namespace {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ull;  // FNV-1a, so it runs over the pieces

std::uint64_t fnv1a(std::uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string signature(std::uint64_t hash) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return std::string("pensieve-") + buf;
}

}  // namespace

std::string thinking_signature(std::string_view thinking) {
  return signature(fnv1a(kFnvOffset, thinking));
}

std::string random_id(std::string_view prefix) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int> pick(0, 61);
  std::string id(prefix);
  for (int i = 0; i < 24; ++i) id += kAlphabet[pick(rng)];
  return id;
}

MessageBuilder::MessageBuilder(std::string id, std::string model, Usage usage, bool streaming,
                               std::string request_id)
    : id_(std::move(id)),
      model_(std::move(model)),
      request_id_(std::move(request_id)),
      usage_(usage),
      streaming_(streaming) {}

void MessageBuilder::event(const chat::ChatEvent& e, std::string& out) {
  switch (e.kind) {
    case chat::ChatEventKind::kText:
      text(e.text, out);
      break;
    case chat::ChatEventKind::kReasoning:
      thinking(e.text, out);
      break;
    case chat::ChatEventKind::kToolCallStart:
      tool_use_start(e.id.empty() ? random_id("toolu_") : e.id, e.name, out);
      break;
    case chat::ChatEventKind::kToolCallArguments:
      tool_use_input(e.text, out);
      break;
    case chat::ChatEventKind::kToolCallEnd:
      break;  // the block closes when the next opens or the message ends
  }
}

void MessageBuilder::end(StopReason reason, std::optional<std::string> stop_sequence,
                         std::int64_t output_tokens, std::string& out) {
  finish(reason, std::move(stop_sequence), output_tokens, out);
  if (!streaming_) out = message().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void MessageBuilder::fail(const ApiError& error, std::string& out) {
  if (streaming_) {
    out += error_frame(error);
  } else {
    out = error_body(error, request_id_);
  }
}

ordered_json MessageBuilder::usage_json() const {
  return {{"input_tokens", usage_.input_tokens},
          {"cache_creation_input_tokens", usage_.cache_creation_input_tokens},
          {"cache_read_input_tokens", usage_.cache_read_input_tokens},
          {"output_tokens", usage_.output_tokens}};
}

void MessageBuilder::start(std::string& out) {
  if (!streaming_) return;
  ordered_json message{{"id", id_},
                       {"type", "message"},
                       {"role", "assistant"},
                       {"model", model_},
                       {"content", ordered_json::array()},
                       {"stop_reason", nullptr},
                       {"stop_sequence", nullptr},
                       {"usage", usage_json()}};
  out += sse_frame("message_start", {{"type", "message_start"}, {"message", std::move(message)}});
}

ordered_json MessageBuilder::block_json(const Block& b, bool at_start) const {
  switch (b.type) {
    case BlockType::kText:
      return {{"type", "text"}, {"text", at_start ? "" : b.content}};
    case BlockType::kThinking:
      return {{"type", "thinking"},
              {"thinking", at_start ? "" : b.content},
              {"signature", at_start ? "" : signature(b.hash)}};
    case BlockType::kToolUse: {
      ordered_json input = ordered_json::object();
      if (!at_start && !b.content.empty()) {
        auto parsed = ordered_json::parse(b.content, nullptr, false);
        if (!parsed.is_discarded() && parsed.is_object()) input = std::move(parsed);
      }
      return {{"type", "tool_use"}, {"id", b.id}, {"name", b.name}, {"input", std::move(input)}};
    }
  }
  return {};
}

void MessageBuilder::close_open_block(std::string& out) {
  if (!block_open_) return;
  block_open_ = false;
  if (!streaming_) return;
  const std::size_t index = blocks_.size() - 1;
  if (blocks_.back().type == BlockType::kThinking) {
    out +=
        sse_frame("content_block_delta",
                  {{"type", "content_block_delta"},
                   {"index", index},
                   {"delta", {{"type", "signature_delta"}, {"signature", signature(blocks_.back().hash)}}}});
  }
  out += sse_frame("content_block_stop", {{"type", "content_block_stop"}, {"index", index}});
}

void MessageBuilder::open(BlockType type, std::string& out) {
  close_open_block(out);
  blocks_.push_back({type, {}, {}, {}, kFnvOffset});
  block_open_ = true;
}

void MessageBuilder::text(std::string_view text, std::string& out) {
  append_to_block(BlockType::kText, "text_delta", "text", text, out);
}

void MessageBuilder::thinking(std::string_view text, std::string& out) {
  append_to_block(BlockType::kThinking, "thinking_delta", "thinking", text, out);
}

// Text and thinking arrive in pieces: each piece extends the open block of its type (opening one
// when another type is open) and streams as one delta.
void MessageBuilder::append_to_block(BlockType type, const char* delta_type, const char* field,
                                     std::string_view piece, std::string& out) {
  if (piece.empty()) return;
  if (!block_open_ || blocks_.back().type != type) {
    open(type, out);
    if (streaming_) {
      out += sse_frame("content_block_start", {{"type", "content_block_start"},
                                               {"index", blocks_.size() - 1},
                                               {"content_block", block_json(blocks_.back(), true)}});
    }
  }
  add_piece(delta_type, field, piece, out);
}

// A streamed piece is a delta frame, written straight into `out`: the per-token path builds no
// JSON value. The content is kept either way: message() is the same whether it streamed or not.
void MessageBuilder::add_piece(const char* delta_type, const char* field, std::string_view piece,
                               std::string& out) {
  Block& block = blocks_.back();
  if (block.type == BlockType::kThinking) block.hash = fnv1a(block.hash, piece);
  block.content.append(piece);
  if (!streaming_) return;
  out += "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":";
  append_decimal(out, blocks_.size() - 1);
  out += ",\"delta\":{\"type\":\"";
  out += delta_type;
  out += "\",\"";
  out += field;
  out += "\":";
  append_json_string(out, piece);
  out += "}}\n\n";
}

void MessageBuilder::tool_use_start(std::string id, std::string name, std::string& out) {
  open(BlockType::kToolUse, out);
  blocks_.back().id = std::move(id);
  blocks_.back().name = std::move(name);
  if (streaming_) {
    out += sse_frame("content_block_start", {{"type", "content_block_start"},
                                             {"index", blocks_.size() - 1},
                                             {"content_block", block_json(blocks_.back(), true)}});
  }
}

void MessageBuilder::tool_use_input(std::string_view partial_json, std::string& out) {
  if (partial_json.empty() || !block_open_ || blocks_.back().type != BlockType::kToolUse) return;
  add_piece("input_json_delta", "partial_json", partial_json, out);
}

void MessageBuilder::prompt_tokens(std::int64_t total) {
  usage_.input_tokens = std::max<std::int64_t>(total, 0);
  usage_.cache_read_input_tokens = 0;
  usage_.cache_creation_input_tokens = 0;
}

void MessageBuilder::prompt_cache(std::int64_t read, std::int64_t written) {
  const std::int64_t total =
      usage_.input_tokens + usage_.cache_read_input_tokens + usage_.cache_creation_input_tokens;
  usage_.cache_read_input_tokens = std::clamp<std::int64_t>(read, 0, total);
  usage_.cache_creation_input_tokens =
      std::clamp<std::int64_t>(written, 0, total - usage_.cache_read_input_tokens);
  usage_.input_tokens = total - usage_.cache_read_input_tokens - usage_.cache_creation_input_tokens;
}

void MessageBuilder::finish(StopReason reason, std::optional<std::string> stop_sequence, std::int64_t output_tokens,
                            std::string& out) {
  close_open_block(out);
  stop_reason_ = reason;
  stop_sequence_ = std::move(stop_sequence);
  usage_.output_tokens = output_tokens;
  if (!streaming_) return;
  ordered_json delta{{"stop_reason", to_string(reason)}, {"stop_sequence", nullptr}};
  if (stop_sequence_) delta["stop_sequence"] = *stop_sequence_;
  out += sse_frame("message_delta", {{"type", "message_delta"}, {"delta", std::move(delta)}, {"usage", usage_json()}});
  out += sse_frame("message_stop", {{"type", "message_stop"}});
}

ordered_json MessageBuilder::message() const {
  ordered_json content = ordered_json::array();
  for (const auto& b : blocks_) content.push_back(block_json(b, false));
  ordered_json m{{"id", id_},
                 {"type", "message"},
                 {"role", "assistant"},
                 {"model", model_},
                 {"content", std::move(content)},
                 {"stop_reason", nullptr},
                 {"stop_sequence", nullptr},
                 {"usage", usage_json()}};
  if (stop_reason_) m["stop_reason"] = to_string(*stop_reason_);
  if (stop_sequence_) m["stop_sequence"] = *stop_sequence_;
  return m;
}

}  // namespace pensieve::api
