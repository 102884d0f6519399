// chat/marker_parser: the machinery shared by the parsers whose tool calls open with a marker
// ("<tool_call>", "[TOOL_CALLS]", ...). It scans text for the family's markers, holds back a tail
// that could still become one, hands the text after an opener to the family's body parser, and
// puts that text back as plain text if the body fails before any call was committed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "chat/marker_scan.hpp"
#include "chat/stream_parser.hpp"
#include "chat/tool_call_writer.hpp"

namespace pensieve::chat {

class JsonScanner;
class ToolCallArray;
class ToolCallObject;

// Marker::opener in a family's list: >= 0 opens a tool call body (the value is passed to
// begin_body); kDropMarker is consumed silently.
inline constexpr int kDropMarker = -1;
inline constexpr int kImplicitOpener = -2;  // a body that begins without a marker (Llama 3 JSON)

class MarkerParser : public StreamParser {
 public:
  explicit MarkerParser(ParserOptions options);
  void feed(std::string_view chunk, std::vector<ChatEvent>& out) final;
  void finish(std::vector<ChatEvent>& out) final;

 protected:
  enum class BodyStatus : std::uint8_t { kMore, kDone, kFailed };

  virtual std::span<const Marker> markers() const = 0;
  virtual void begin_body(int opener) = 0;
  // Consumes a prefix of `input` (setting `consumed`); kMore asks for more input, kDone ends the
  // body after `consumed` characters, kFailed rejects input[consumed]. With `at_end` nothing more
  // will come and kMore counts as kFailed. Calls are written through writer_; an open call is
  // ended by the machinery on kDone (complete) or kFailed (incomplete).
  virtual BodyStatus parse_body(std::string_view input, size_t& consumed, bool at_end) = 0;
  // Whether the answer may open with a body that has no marker; asked once, at its first
  // non-blank character.
  virtual bool implicit_body_at(char /*first_char*/) { return false; }
  // Ends a complete call whose closing marker is optional: the marker is consumed when it is
  // there, and its absence only means the text goes on.
  static BodyStatus close_with_optional_marker(std::string_view input, size_t& consumed,
                                               std::string_view marker, bool at_end);
  // Feeds input[consumed, …) to a reader of calls written as JSON, a character at a time, until
  // it completes (kDone) or rejects a character (kFailed, that character not consumed).
  BodyStatus feed_json_call(ToolCallObject& reader, std::string_view input, size_t& consumed);
  BodyStatus feed_json_call(ToolCallArray& reader, std::string_view input, size_t& consumed);
  // Streams a call's JSON arguments; kDone once the object is complete.
  BodyStatus feed_json_arguments(JsonScanner& scanner, std::string_view input, size_t& consumed);

  const ParserOptions& options() const { return options_; }
  EventSink sink_;
  ToolCallWriter writer_;

 private:
  enum class Mode : std::uint8_t { kText, kBody, kAfterCall };
  void run(bool at_end);
  bool step_text(bool at_end);
  bool step_body(bool at_end);
  bool step_after_call(bool at_end);
  void enter_body(int opener, std::string_view marker);
  template <class Reader>
  BodyStatus feed_json_reader(Reader& reader, std::string_view input, size_t& consumed);

  ParserOptions options_;
  std::string buf_;
  size_t pos_ = 0;
  std::string pending_;  // marker + body text consumed while no call was committed
  size_t pending_marker_size_ = 0;
  size_t calls_before_body_ = 0;
  Mode mode_ = Mode::kText;
  bool at_start_ = true;
};

}  // namespace pensieve::chat
