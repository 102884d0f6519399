// api/message_builder: builds an Anthropic assistant message from generation events, and, for
// streaming, the server-sent events the SDKs expect, in their exact order:
// message_start, then per content block content_block_start / *_delta / content_block_stop
// (index = the block's position), then message_delta (stop_reason, cumulative usage), message_stop.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/answer_encoder.hpp"
#include "api/error.hpp"

namespace pensieve::api {

// Anthropic's names: "end_turn", "max_tokens", "stop_sequence", "tool_use".
const char* to_string(StopReason reason);

struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t cache_read_input_tokens = 0;
  std::int64_t cache_creation_input_tokens = 0;
};

// One SSE frame: "event: NAME\ndata: JSON\n\n".
std::string sse_frame(std::string_view event, const nlohmann::ordered_json& data);
std::string ping_frame();
std::string error_frame(const ApiError& error);

class MessageBuilder final : public AnswerEncoder {
 public:
  // `request_id` names the request in an error body.
  MessageBuilder(std::string id, std::string model, Usage usage, bool streaming, std::string request_id = {});

  // AnswerEncoder: the Anthropic message, built from the calls below.
  void event(const chat::ChatEvent& event, std::string& out) override;
  void end(StopReason reason, std::optional<std::string> stop_sequence, std::int64_t output_tokens,
           std::string& out) override;
  void fail(const ApiError& error, std::string& out) override;

  // Each call appends the SSE frames it causes to `out` (nothing when not streaming).
  void start(std::string& out) override;
  void text(std::string_view text, std::string& out);
  void thinking(std::string_view text, std::string& out);
  void tool_use_start(std::string id, std::string name, std::string& out);
  void tool_use_input(std::string_view partial_json, std::string& out);
  // Of the prompt, `read` tokens were found in the cache rather than computed and `written` were
  // computed and kept in the cache for later requests: counted apart, as the API counts them
  // (input_tokens + cache_read_input_tokens + cache_creation_input_tokens is the whole prompt).
  // The server caches every prompt it computes, so input_tokens is what it computed and did not
  // keep. Before finish().
  void prompt_cache(std::int64_t read, std::int64_t written) override;
  void prompt_tokens(std::int64_t total) override;
  void finish(StopReason reason, std::optional<std::string> stop_sequence, std::int64_t output_tokens,
              std::string& out);

  // The whole message (the non-streaming response body), valid after finish().
  nlohmann::ordered_json message() const;
  std::size_t block_count() const { return blocks_.size(); }

 private:
  enum class BlockType { kText, kThinking, kToolUse };
  struct Block {
    BlockType type;
    std::string content;   // text, thinking, or the tool input's JSON text
    std::string id, name;  // tool_use
    std::uint64_t hash;    // of a thinking block's text, for its signature
  };

  void open(BlockType type, std::string& out);
  void append_to_block(BlockType type, const char* delta_type, const char* field, std::string_view piece,
                       std::string& out);
  void add_piece(const char* delta_type, const char* field, std::string_view piece, std::string& out);
  void close_open_block(std::string& out);
  nlohmann::ordered_json block_json(const Block& block, bool at_start) const;
  nlohmann::ordered_json usage_json() const;

  std::string id_, model_, request_id_;
  Usage usage_;
  bool streaming_;
  std::vector<Block> blocks_;
  bool block_open_ = false;
  std::optional<StopReason> stop_reason_;
  std::optional<std::string> stop_sequence_;
};

// Opaque signature for a thinking block; clients send it back and we accept anything.
std::string thinking_signature(std::string_view thinking);

// "msg_…", "toolu_…", "req_…": a prefix and 24 random base-62 characters.
std::string random_id(std::string_view prefix);

}  // namespace pensieve::api
