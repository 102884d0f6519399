// Hermes / Qwen2.5 / Qwen3 / SmolLM3: <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>
#include "chat/family_parsers.hpp"
#include "chat/marker_parser.hpp"
#include "chat/tool_call_object.hpp"

namespace pensieve::chat {

namespace {

constexpr Marker kMarkers[] = {{"<tool_call>", 0}};
constexpr std::string_view kClose = "</tool_call>";

class HermesParser final : public MarkerParser {
 public:
  using MarkerParser::MarkerParser;

 private:
  std::span<const Marker> markers() const override { return kMarkers; }

  void begin_body(int /*opener*/) override {
    object_.reset({});
    closing_ = false;
  }

  BodyStatus parse_body(std::string_view input, size_t& consumed, bool at_end) override {
    consumed = 0;
    if (!closing_) {
      const BodyStatus status = feed_json_call(object_, input, consumed);
      if (status != BodyStatus::kDone) return status;
      closing_ = true;
    }
    // A missing close tag does not spoil a complete call: whatever follows is text again.
    return close_with_optional_marker(input, consumed, kClose, at_end);
  }

  ToolCallObject object_;
  bool closing_ = false;
};

}  // namespace

std::unique_ptr<StreamParser> make_hermes_parser(ParserOptions options) {
  return std::make_unique<HermesParser>(std::move(options));
}

}  // namespace pensieve::chat
