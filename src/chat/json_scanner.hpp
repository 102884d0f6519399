// chat/json_scanner: an incremental JSON syntax checker, fed one character at a time, that says
// when a value is complete. Stream parsers use it to forward tool-call arguments as they arrive
// while knowing where they end and that every forwarded prefix is valid JSON so far.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace pensieve::chat {

class JsonScanner {
 public:
  enum class Step : std::uint8_t {
    kMore,            // the character belongs to the value, which is not complete yet
    kComplete,        // the character completed the value
    kCompleteBefore,  // the value (a bare number) ended before this character, which is not its own
    kInvalid,         // the character cannot continue a JSON value
  };

  // `objects_only`: the top-level value must be an object (tool-call arguments).
  explicit JsonScanner(bool objects_only = false) : objects_only_(objects_only) {}
  void reset();
  Step feed(char c);
  bool started() const { return started_; }
  bool complete() const { return complete_; }

 private:
  enum class State : std::uint8_t {
    kValue, kObjectKeyOrEnd, kObjectKey, kColon, kAfterValue, kArrayValueOrEnd,
    kString, kStringEscape, kStringUnicode, kNumber, kLiteral,
  };
  Step value_start(char c);
  Step value_done();
  Step after_value(char c);

  bool objects_only_;
  bool started_ = false;
  bool complete_ = false;
  bool string_is_key_ = false;
  State state_ = State::kValue;
  std::uint8_t unicode_left_ = 0;
  std::string_view literal_;
  std::uint8_t literal_pos_ = 0;
  std::vector<char> stack_;  // open containers, '{' or '['
};

}  // namespace pensieve::chat
