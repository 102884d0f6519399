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
    while (!closing_ && consumed < input.size()) {
      const auto status = object_.feed(input[consumed], writer_);
      if (status == ToolCallObject::Status::kFailed) return BodyStatus::kFailed;
      ++consumed;
      if (status == ToolCallObject::Status::kDone) closing_ = true;
    }
    if (!closing_) return BodyStatus::kMore;
    // A missing close tag does not spoil a complete call: whatever follows is text again.
    switch (expect_literal(input, consumed, kClose)) {
      case Expect::kFound: return BodyStatus::kDone;
      case Expect::kPartial: return at_end ? BodyStatus::kDone : BodyStatus::kMore;
      case Expect::kAbsent: return BodyStatus::kDone;
    }
    return BodyStatus::kFailed;
  }

  ToolCallObject object_;
  bool closing_ = false;
};

}  // namespace

std::unique_ptr<StreamParser> make_hermes_parser(ParserOptions options) {
  return std::make_unique<HermesParser>(std::move(options));
}

}  // namespace pensieve::chat
