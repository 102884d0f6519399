// Kimi-K2: <|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:0<|tool_call_argument_begin|>{...}<|tool_call_end|>…<|tool_calls_section_end|>
// The id's "functions." prefix and ":index" suffix are stripped to get the name; the section
// markers are dropped.
#include "chat/family_parsers.hpp"
#include "chat/json_scanner.hpp"
#include "chat/marker_parser.hpp"

namespace pensieve::chat {

namespace {

constexpr std::string_view kArgumentBegin = "<|tool_call_argument_begin|>";
constexpr std::string_view kCallEnd = "<|tool_call_end|>";
constexpr Marker kMarkers[] = {{"<|tool_call_begin|>", 0},
                               {"<|tool_calls_section_begin|>", kDropMarker},
                               {"<|tool_calls_section_end|>", kDropMarker}};
constexpr size_t kMaxFieldSize = 256;

std::string_view name_from_id(std::string_view id) {
  id = trim_blanks(id);
  if (id.starts_with("functions.")) id.remove_prefix(10);
  const size_t colon = id.rfind(':');
  if (colon != std::string_view::npos &&
      id.find_first_not_of("0123456789", colon + 1) == std::string_view::npos) {
    id = id.substr(0, colon);
  }
  return id;
}

class KimiK2Parser final : public MarkerParser {
 public:
  using MarkerParser::MarkerParser;

 private:
  enum class State { kId, kArguments, kClose };

  std::span<const Marker> markers() const override { return kMarkers; }

  void begin_body(int /*opener*/) override {
    state_ = State::kId;
    field_.clear();
  }

  BodyStatus parse_body(std::string_view input, size_t& consumed, bool at_end) override {
    consumed = 0;
    for (;;) {
      switch (state_) {
        case State::kId: {
          const bool found = read_until(input, consumed, kArgumentBegin, field_);
          if (field_.size() > kMaxFieldSize) return BodyStatus::kFailed;
          if (!found) return BodyStatus::kMore;
          const std::string_view name = name_from_id(field_);
          if (name.empty() || name.find('<') != std::string_view::npos) return BodyStatus::kFailed;
          writer_.start(std::string(name));
          scanner_ = JsonScanner(/*objects_only=*/true);
          state_ = State::kArguments;
          break;
        }
        case State::kArguments: {
          const BodyStatus status = feed_json_arguments(scanner_, input, consumed);
          if (status != BodyStatus::kDone) return status;
          state_ = State::kClose;
          break;
        }
        case State::kClose:
          return close_with_optional_marker(input, consumed, kCallEnd, at_end);
      }
    }
  }

  State state_ = State::kId;
  std::string field_;
  JsonScanner scanner_;
};

}  // namespace

std::unique_ptr<StreamParser> make_kimi_k2_parser(ParserOptions options) {
  return std::make_unique<KimiK2Parser>(std::move(options));
}

}  // namespace pensieve::chat
