// DeepSeek-R1 (and its distills):
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{...}\n```<｜tool▁call▁end｜>…<｜tool▁calls▁end｜>
// Later DeepSeek releases drop the type and the fence: <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{...}<｜tool▁call▁end｜>;
// both are read. The section markers around the calls are dropped.
#include "chat/family_parsers.hpp"
#include "chat/json_scanner.hpp"
#include "chat/marker_parser.hpp"

namespace pensieve::chat {

namespace {

// The markers use U+FF5C (fullwidth vertical line) and U+2581 (lower one eighth block).
#define PENSIEVE_DS_BAR "\xEF\xBD\x9C"
#define PENSIEVE_DS_SPACE "\xE2\x96\x81"
constexpr std::string_view kCallsBegin = "<" PENSIEVE_DS_BAR "tool" PENSIEVE_DS_SPACE "calls" PENSIEVE_DS_SPACE
                                         "begin" PENSIEVE_DS_BAR ">";
constexpr std::string_view kCallsEnd = "<" PENSIEVE_DS_BAR "tool" PENSIEVE_DS_SPACE "calls" PENSIEVE_DS_SPACE
                                       "end" PENSIEVE_DS_BAR ">";
constexpr std::string_view kCallBegin = "<" PENSIEVE_DS_BAR "tool" PENSIEVE_DS_SPACE "call" PENSIEVE_DS_SPACE
                                        "begin" PENSIEVE_DS_BAR ">";
constexpr std::string_view kCallEnd = "<" PENSIEVE_DS_BAR "tool" PENSIEVE_DS_SPACE "call" PENSIEVE_DS_SPACE
                                      "end" PENSIEVE_DS_BAR ">";
constexpr std::string_view kSep = "<" PENSIEVE_DS_BAR "tool" PENSIEVE_DS_SPACE "sep" PENSIEVE_DS_BAR ">";
#undef PENSIEVE_DS_BAR
#undef PENSIEVE_DS_SPACE

constexpr Marker kMarkers[] = {{kCallBegin, 0}, {kCallsBegin, kDropMarker}, {kCallsEnd, kDropMarker}};
constexpr size_t kMaxFieldSize = 256;

class DeepSeekR1Parser final : public MarkerParser {
 public:
  using MarkerParser::MarkerParser;

 private:
  enum class State { kHead, kName, kFenceOpen, kFenceLanguage, kArguments, kFenceClose, kClose };

  std::span<const Marker> markers() const override { return kMarkers; }

  void begin_body(int /*opener*/) override {
    state_ = State::kHead;
    field_.clear();
  }

  void start_call(std::string_view name) {
    writer_.start(std::string(name));
    scanner_ = JsonScanner(/*objects_only=*/true);
  }

  BodyStatus parse_body(std::string_view input, size_t& consumed, bool at_end) override {
    consumed = 0;
    for (;;) {
      switch (state_) {
        case State::kHead: {
          const bool found = read_until(input, consumed, kSep, field_);
          if (field_.size() > kMaxFieldSize) return BodyStatus::kFailed;
          if (!found) return BodyStatus::kMore;
          const std::string_view head = trim_blanks(field_);
          if (head.empty() || head.find('<') != std::string_view::npos) return BodyStatus::kFailed;
          if (head == "function") {
            field_.clear();
            state_ = State::kName;
          } else {
            start_call(head);
            state_ = State::kArguments;
          }
          break;
        }
        case State::kName: {
          const bool found = read_until(input, consumed, "\n", field_);
          if (field_.size() > kMaxFieldSize) return BodyStatus::kFailed;
          if (!found) return BodyStatus::kMore;
          const std::string_view name = trim_blanks(field_);
          if (name.empty() || name.find('<') != std::string_view::npos) return BodyStatus::kFailed;
          start_call(name);
          state_ = State::kFenceOpen;
          break;
        }
        case State::kFenceOpen:
          switch (expect_literal(input, consumed, "```")) {
            case Expect::kFound: state_ = State::kFenceLanguage; break;
            case Expect::kPartial: return BodyStatus::kMore;
            case Expect::kAbsent: state_ = State::kArguments; break;
          }
          break;
        case State::kFenceLanguage:
          while (consumed < input.size() && input[consumed] != '\n' && input[consumed] != '{') ++consumed;
          if (consumed == input.size()) return BodyStatus::kMore;
          state_ = State::kArguments;
          break;
        case State::kArguments: {
          const BodyStatus status = feed_json_arguments(scanner_, input, consumed);
          if (status != BodyStatus::kDone) return status;
          state_ = State::kFenceClose;
          break;
        }
        case State::kFenceClose:
          switch (expect_literal(input, consumed, "```")) {
            case Expect::kFound: state_ = State::kClose; break;
            case Expect::kPartial:
              if (!at_end) return BodyStatus::kMore;
              [[fallthrough]];
            case Expect::kAbsent: state_ = State::kClose; break;
          }
          break;
        case State::kClose:
          return close_with_optional_marker(input, consumed, kCallEnd, at_end);
      }
    }
  }

  State state_ = State::kHead;
  std::string field_;
  JsonScanner scanner_;
};

}  // namespace

std::unique_ptr<StreamParser> make_deepseek_r1_parser(ParserOptions options) {
  return std::make_unique<DeepSeekR1Parser>(std::move(options));
}

}  // namespace pensieve::chat
