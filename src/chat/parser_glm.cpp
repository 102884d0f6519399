// GLM-4.5/4.6: <tool_call>NAME\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>\n…</tool_call>
// Values are bare text (see text_arguments.hpp).
#include "chat/family_parsers.hpp"
#include "chat/marker_parser.hpp"
#include "chat/text_arguments.hpp"

namespace pensieve::chat {

namespace {

constexpr Marker kMarkers[] = {{"<tool_call>", 0}};
constexpr size_t kMaxNameSize = 256;

class GlmParser final : public MarkerParser {
 public:
  using MarkerParser::MarkerParser;

 private:
  enum class State { kName, kKeyOrEnd, kKey, kValueTag, kValue };

  std::span<const Marker> markers() const override { return kMarkers; }

  void begin_body(int /*opener*/) override {
    state_ = State::kName;
    field_.clear();
    arguments_.reset();
  }

  BodyStatus parse_body(std::string_view input, size_t& consumed, bool /*at_end*/) override {
    consumed = 0;
    for (;;) {
      switch (state_) {
        case State::kName: {
          // The name runs to the end of its line, or straight into the first key or the close.
          const size_t end = input.find_first_of("\n<", consumed);
          const size_t stop = end == std::string_view::npos ? input.size() : end;
          field_.append(input.substr(consumed, stop - consumed));
          consumed = stop;
          if (field_.size() > kMaxNameSize) return BodyStatus::kFailed;
          if (end == std::string_view::npos) return BodyStatus::kMore;
          name_ = std::string(trim_blanks(field_));
          if (name_.empty() || name_.find_first_of(" \t") != std::string::npos) return BodyStatus::kFailed;
          state_ = State::kKeyOrEnd;
          break;
        }
        case State::kKeyOrEnd: {
          size_t after_key = consumed;
          size_t after_end = consumed;
          const Expect key = expect_literal(input, after_key, "<arg_key>");
          const Expect end = expect_literal(input, after_end, "</tool_call>");
          // Committed only once the name is followed by what a call holds.
          if ((key == Expect::kFound || end == Expect::kFound) && !writer_.open()) writer_.start(name_);
          if (key == Expect::kFound) {
            consumed = after_key;
            field_.clear();
            state_ = State::kKey;
            break;
          }
          if (end == Expect::kFound) {
            consumed = after_end;
            arguments_.close(writer_);
            return BodyStatus::kDone;
          }
          if (key == Expect::kPartial || end == Expect::kPartial) return BodyStatus::kMore;
          return BodyStatus::kFailed;
        }
        case State::kKey:
          if (!read_until(input, consumed, "</arg_key>", field_)) return BodyStatus::kMore;
          key_ = std::string(trim_blanks(field_));
          state_ = State::kValueTag;
          break;
        case State::kValueTag:
          switch (expect_literal(input, consumed, "<arg_value>")) {
            case Expect::kFound: break;
            case Expect::kPartial: return BodyStatus::kMore;
            case Expect::kAbsent: return BodyStatus::kFailed;
          }
          field_.clear();
          state_ = State::kValue;
          break;
        case State::kValue:
          if (!read_until(input, consumed, "</arg_value>", field_)) return BodyStatus::kMore;
          arguments_.add(writer_, key_, typed_argument_value(options().tools, name_, key_, field_));
          state_ = State::kKeyOrEnd;
          break;
      }
    }
  }

  State state_ = State::kName;
  std::string field_;
  std::string name_;
  std::string key_;
  ArgumentsObjectWriter arguments_;
};

}  // namespace

std::unique_ptr<StreamParser> make_glm_parser(ParserOptions options) {
  return std::make_unique<GlmParser>(std::move(options));
}

}  // namespace pensieve::chat
