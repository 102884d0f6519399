// chat/stream_parser: splits generated text, fed in arbitrary chunks as it is produced, into
// visible text, reasoning and tool calls, in the syntax of one model family.
//
// Text that could still be the start of a marker (a prefix of "<tool_call>", say) is held back
// until it either completes the marker or cannot; then it is released. A tool call that turns out
// malformed before its arguments began to stream is released as text; nothing is dropped except
// the markers themselves and whitespace around tool calls.
//
// Special tokens must reach the parser as their text ("<|channel|>", "[TOOL_CALLS]"), so the
// detokenizer has to render them for families that use them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/chat_event.hpp"
#include "chat/template_family.hpp"

namespace pensieve::chat {

struct ParserOptions {
  // The tools offered to the model, as function schemas ([{"type": "function", "function":
  // {"name", "parameters"}}]) or null. Families that write arguments as untyped text (Qwen3-Coder,
  // GLM) use the parameter types to keep "42" a string where the schema says so; Llama 3, whose
  // calls carry no marker, is only looked for when tools were offered.
  nlohmann::json tools;
  // Generation starts inside <think> (see prompt_opens_reasoning).
  bool starts_in_reasoning = false;
  // False for tool_choice "none": tool-call markup the model writes anyway stays text (gpt-oss
  // keeps its channels and returns a call's arguments as text).
  bool parse_tool_calls = true;
  // Makes the id of each tool call; the default gives "toolu_" and 24 random letters and digits.
  std::function<std::string()> make_tool_call_id;
};

class StreamParser {
 public:
  virtual ~StreamParser() = default;
  // Appends the events the chunk completes to `out` (without clearing it).
  virtual void feed(std::string_view chunk, std::vector<ChatEvent>& out) = 0;
  // End of generation: releases what was held back and closes an open tool call.
  virtual void finish(std::vector<ChatEvent>& out) = 0;
};

std::unique_ptr<StreamParser> make_stream_parser(const TemplateTraits& traits, ParserOptions options);

// Parses a whole text at once: feed + finish.
std::vector<ChatEvent> parse_all(StreamParser& parser, std::string_view text);

}  // namespace pensieve::chat
