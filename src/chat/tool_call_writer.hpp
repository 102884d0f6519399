// chat/tool_call_writer: emits the events of one tool call at a time (start, argument pieces,
// end) and checks at the end that the pieces add up to a JSON object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "chat/chat_event.hpp"
#include "chat/json_scanner.hpp"

namespace pensieve::chat {

class ToolCallWriter {
 public:
  ToolCallWriter(EventSink& sink, std::function<std::string()> make_id);

  void start(std::string name);
  void arguments(std::string_view delta);
  // `complete` is the caller's view; the call is reported complete only if the arguments also
  // parse as a JSON object.
  void end(bool complete);
  bool open() const { return open_; }
  size_t started_count() const { return started_; }

 private:
  EventSink& sink_;
  std::function<std::string()> make_id_;
  std::string arguments_;
  bool open_ = false;
  size_t started_ = 0;
};

// Forwards a JSON arguments object from input[consumed, …) to `writer` while `scanner` checks it;
// blanks before the object are skipped. Stops after the object's last character.
enum class ArgumentsStep : std::uint8_t { kMore, kComplete, kInvalid };
ArgumentsStep stream_json_arguments(JsonScanner& scanner, std::string_view input, size_t& consumed,
                                    ToolCallWriter& writer);

// `prefix` and 24 letters and digits from a random_device-seeded generator.
std::function<std::string()> tool_call_id_maker(std::string prefix);
// Anthropic's form: "toolu_" and 24 letters and digits.
std::function<std::string()> default_tool_call_id_maker();

}  // namespace pensieve::chat
