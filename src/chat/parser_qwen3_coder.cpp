// Qwen3-Coder: <tool_call>\n<function=NAME>\n<parameter=P>\nvalue\n</parameter>\n</function>\n</tool_call>
// Values are bare text (see text_arguments.hpp). The model sometimes drops the <tool_call>
// wrapper, so a bare <function= opens a call too.
#include "chat/family_parsers.hpp"
#include "chat/marker_parser.hpp"
#include "chat/text_arguments.hpp"

namespace pensieve::chat {

namespace {

constexpr int kToolCallOpener = 0;
constexpr int kFunctionOpener = 1;
constexpr Marker kMarkers[] = {{"<tool_call>", kToolCallOpener}, {"<function=", kFunctionOpener}};
constexpr size_t kMaxNameSize = 256;

std::string_view strip_one_newline(std::string_view value) {
  if (value.starts_with('\n')) value.remove_prefix(1);
  if (value.ends_with('\n')) value.remove_suffix(1);
  return value;
}

class Qwen3CoderParser final : public MarkerParser {
 public:
  using MarkerParser::MarkerParser;

 private:
  enum class State { kFunctionTag, kName, kParameterOrEnd, kParameterName, kValue, kClose };

  std::span<const Marker> markers() const override { return kMarkers; }

  void begin_body(int opener) override {
    wrapped_ = opener == kToolCallOpener;
    state_ = wrapped_ ? State::kFunctionTag : State::kName;
    arguments_.reset();
  }

  // Reads a field up to `end_marker` into field_; true when complete (marker consumed). A field
  // past `limit` fails only while its end is still to come.
  bool read_field(std::string_view input, size_t& consumed, std::string_view end_marker, size_t limit,
                  bool& failed) {
    const bool found = read_until(input, consumed, end_marker, field_);
    if (field_.size() > limit) failed = true;
    return found;
  }

  BodyStatus parse_body(std::string_view input, size_t& consumed, bool at_end) override {
    consumed = 0;
    bool failed = false;
    for (;;) {
      switch (state_) {
        case State::kFunctionTag:
          switch (expect_literal(input, consumed, "<function=")) {
            case Expect::kFound: break;
            case Expect::kPartial: return BodyStatus::kMore;
            case Expect::kAbsent: return BodyStatus::kFailed;
          }
          field_.clear();
          state_ = State::kName;
          break;
        case State::kName:
          if (!read_field(input, consumed, ">", kMaxNameSize, failed)) {
            return failed ? BodyStatus::kFailed : BodyStatus::kMore;
          }
          if (field_.empty() || field_.find_first_of("<\n") != std::string::npos) return BodyStatus::kFailed;
          name_ = field_;
          state_ = State::kParameterOrEnd;
          break;
        case State::kParameterOrEnd: {
          size_t after_parameter = consumed;
          size_t after_end = consumed;
          const Expect parameter = expect_literal(input, after_parameter, "<parameter=");
          const Expect end = expect_literal(input, after_end, "</function>");
          // The call is committed only once the name is followed by what a call holds, so prose
          // that merely mentions "<function=x>" stays text.
          if (parameter == Expect::kFound || end == Expect::kFound) {
            if (!writer_.open()) writer_.start(name_);
          }
          if (parameter == Expect::kFound) {
            consumed = after_parameter;
            field_.clear();
            state_ = State::kParameterName;
            break;
          }
          if (end == Expect::kFound) {
            consumed = after_end;
            arguments_.close(writer_);
            state_ = State::kClose;
            break;
          }
          if (parameter == Expect::kPartial || end == Expect::kPartial) return BodyStatus::kMore;
          return BodyStatus::kFailed;
        }
        case State::kParameterName:
          if (!read_field(input, consumed, ">", kMaxNameSize, failed)) {
            return failed ? BodyStatus::kFailed : BodyStatus::kMore;
          }
          parameter_ = field_;
          field_.clear();
          state_ = State::kValue;
          break;
        case State::kValue:
          if (!read_field(input, consumed, "</parameter>", std::string::npos, failed))
            return BodyStatus::kMore;
          arguments_.add(writer_, parameter_,
                         typed_argument_value(options().tools, name_, parameter_, strip_one_newline(field_)));
          state_ = State::kParameterOrEnd;
          break;
        case State::kClose:
          if (!wrapped_) return BodyStatus::kDone;
          return close_with_optional_marker(input, consumed, "</tool_call>", at_end);
      }
    }
  }

  State state_ = State::kFunctionTag;
  bool wrapped_ = true;
  std::string field_;
  std::string name_;
  std::string parameter_;
  ArgumentsObjectWriter arguments_;
};

}  // namespace

std::unique_ptr<StreamParser> make_qwen3_coder_parser(ParserOptions options) {
  return std::make_unique<Qwen3CoderParser>(std::move(options));
}

}  // namespace pensieve::chat
