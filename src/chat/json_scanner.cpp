#include "chat/json_scanner.hpp"

namespace pensieve::chat {

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_number_char(char c) { return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }
}  // namespace

void JsonScanner::reset() {
  started_ = false;
  complete_ = false;
  string_is_key_ = false;
  state_ = State::kValue;
  unicode_left_ = 0;
  literal_ = {};
  literal_pos_ = 0;
  stack_.clear();
}

JsonScanner::Step JsonScanner::value_done() {
  if (stack_.empty()) {
    complete_ = true;
    return Step::kComplete;
  }
  state_ = State::kAfterValue;
  return Step::kMore;
}

JsonScanner::Step JsonScanner::value_start(char c) {
  if (is_space(c)) return Step::kMore;
  if (!started_ && objects_only_ && c != '{') return Step::kInvalid;
  started_ = true;
  switch (c) {
    case '{': stack_.push_back('{'); state_ = State::kObjectKeyOrEnd; return Step::kMore;
    case '[': stack_.push_back('['); state_ = State::kArrayValueOrEnd; return Step::kMore;
    case '"': string_is_key_ = false; state_ = State::kString; return Step::kMore;
    case 't': literal_ = "true"; break;
    case 'f': literal_ = "false"; break;
    case 'n': literal_ = "null"; break;
    default:
      if (c == '-' || is_digit(c)) {
        state_ = State::kNumber;
        return Step::kMore;
      }
      return Step::kInvalid;
  }
  literal_pos_ = 1;
  state_ = State::kLiteral;
  return Step::kMore;
}

JsonScanner::Step JsonScanner::after_value(char c) {
  if (is_space(c)) return Step::kMore;
  const char open = stack_.back();
  if (c == ',') {
    state_ = open == '{' ? State::kObjectKey : State::kValue;
    return Step::kMore;
  }
  if ((open == '{' && c == '}') || (open == '[' && c == ']')) {
    stack_.pop_back();
    return value_done();
  }
  return Step::kInvalid;
}

JsonScanner::Step JsonScanner::feed(char c) {
  if (complete_) return Step::kInvalid;
  switch (state_) {
    case State::kValue: return value_start(c);
    case State::kArrayValueOrEnd:
      if (is_space(c)) return Step::kMore;
      if (c == ']') {
        stack_.pop_back();
        return value_done();
      }
      state_ = State::kValue;
      return value_start(c);
    case State::kObjectKeyOrEnd:
      if (c == '}') {
        stack_.pop_back();
        return value_done();
      }
      [[fallthrough]];
    case State::kObjectKey:
      if (is_space(c)) return Step::kMore;
      if (c != '"') return Step::kInvalid;
      string_is_key_ = true;
      state_ = State::kString;
      return Step::kMore;
    case State::kColon:
      if (is_space(c)) return Step::kMore;
      if (c != ':') return Step::kInvalid;
      state_ = State::kValue;
      return Step::kMore;
    case State::kAfterValue: return after_value(c);
    case State::kString:
      if (c == '\\') {
        state_ = State::kStringEscape;
        return Step::kMore;
      }
      if (c == '"') {
        if (string_is_key_) {
          state_ = State::kColon;
          return Step::kMore;
        }
        return value_done();
      }
      if (static_cast<unsigned char>(c) < 0x20) return Step::kInvalid;
      return Step::kMore;
    case State::kStringEscape:
      if (c == 'u') {
        unicode_left_ = 4;
        state_ = State::kStringUnicode;
        return Step::kMore;
      }
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
        state_ = State::kString;
        return Step::kMore;
      }
      return Step::kInvalid;
    case State::kStringUnicode:
      if (!is_hex(c)) return Step::kInvalid;
      if (--unicode_left_ == 0) state_ = State::kString;
      return Step::kMore;
    case State::kNumber: {
      if (is_number_char(c)) return Step::kMore;
      // The number ended before c; c must now continue the enclosing value.
      if (stack_.empty()) {
        complete_ = true;
        return Step::kCompleteBefore;
      }
      state_ = State::kAfterValue;
      return after_value(c);
    }
    case State::kLiteral:
      if (c != literal_[literal_pos_]) return Step::kInvalid;
      if (++literal_pos_ == literal_.size()) return value_done();
      return Step::kMore;
  }
  return Step::kInvalid;
}

}  // namespace pensieve::chat
