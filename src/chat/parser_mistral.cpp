// Mistral / Devstral. After [TOOL_CALLS] comes one of:
//   [{"name": "f", "arguments": {...}, "id": "abcdefghi"}, ...]   (Nemo, v3 tokenizer)
//   f[CALL_ID]abcdefghi[ARGS]{...}                                 (Small 3.2)
//   f[ARGS]{...}                                                   (Devstral)
// Each call of the last two forms has its own [TOOL_CALLS]. The model's own call ids are not
// kept: ids are ours, and the request mapping rewrites them into the 9-character form on the way
// back in.
#include "chat/family_parsers.hpp"
#include "chat/json_scanner.hpp"
#include "chat/marker_parser.hpp"
#include "chat/tool_call_object.hpp"

namespace pensieve::chat {

namespace {

constexpr Marker kMarkers[] = {{"[TOOL_CALLS]", 0}};
constexpr size_t kMaxFieldSize = 256;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

class MistralParser final : public MarkerParser {
 public:
  using MarkerParser::MarkerParser;

 private:
  enum class State { kStart, kArray, kName, kCallId, kArguments };

  std::span<const Marker> markers() const override { return kMarkers; }

  void begin_body(int /*opener*/) override {
    state_ = State::kStart;
    field_.clear();
  }

  BodyStatus parse_body(std::string_view input, size_t& consumed, bool /*at_end*/) override {
    consumed = 0;
    while (consumed < input.size()) {
      const char c = input[consumed];
      switch (state_) {
        case State::kStart:
          if (c == ' ' || c == '\n') {
            ++consumed;
            continue;
          }
          if (c == '[') {
            array_.reset(/*allow_bare_object=*/false);
            state_ = State::kArray;
          } else {
            state_ = State::kName;
          }
          continue;
        case State::kArray:
          return feed_json_call(array_, input, consumed);
        case State::kName:
        case State::kCallId: {
          if (c == '[') {
            const std::string_view rest = input.substr(consumed);
            size_t at = 0;
            const Expect args = expect_literal(rest, at, "[ARGS]", /*skip_blanks=*/false);
            const Expect call_id = state_ == State::kName
                                       ? expect_literal(rest, at, "[CALL_ID]", /*skip_blanks=*/false)
                                       : Expect::kAbsent;
            if (args == Expect::kFound || call_id == Expect::kFound) {
              consumed += at;
              if (state_ == State::kName) {
                if (field_.empty()) return BodyStatus::kFailed;
                name_ = field_;
              }
              field_.clear();
              if (call_id == Expect::kFound) {
                state_ = State::kCallId;
              } else {
                writer_.start(name_);
                scanner_ = JsonScanner(/*objects_only=*/true);
                state_ = State::kArguments;
              }
              continue;
            }
            if (args == Expect::kPartial || call_id == Expect::kPartial) return BodyStatus::kMore;
            return BodyStatus::kFailed;
          }
          if (!is_name_char(c) || field_.size() >= kMaxFieldSize) return BodyStatus::kFailed;
          field_.push_back(c);
          ++consumed;
          continue;
        }
        case State::kArguments:
          return feed_json_arguments(scanner_, input, consumed);
      }
    }
    return BodyStatus::kMore;
  }

  State state_ = State::kStart;
  std::string field_;
  std::string name_;
  ToolCallArray array_;
  JsonScanner scanner_;
};

}  // namespace

std::unique_ptr<StreamParser> make_mistral_parser(ParserOptions options) {
  return std::make_unique<MistralParser>(std::move(options));
}

}  // namespace pensieve::chat
