// Granite 3.x: <|tool_call|>[{"name": "f", "arguments": {...}}, ...]. In thinking mode the answer
// is wrapped in <response>…</response>, whose tags are dropped (the <think> part is split off in
// front of this parser).
#include "chat/family_parsers.hpp"
#include "chat/marker_parser.hpp"
#include "chat/tool_call_object.hpp"

namespace pensieve::chat {

namespace {

constexpr Marker kMarkers[] = {{"<|tool_call|>", 0}, {"<response>", kDropMarker}, {"</response>", kDropMarker}};

class GraniteParser final : public MarkerParser {
 public:
  using MarkerParser::MarkerParser;

 private:
  std::span<const Marker> markers() const override { return kMarkers; }

  void begin_body(int /*opener*/) override { array_.reset(/*allow_bare_object=*/true); }

  BodyStatus parse_body(std::string_view input, size_t& consumed, bool /*at_end*/) override {
    consumed = 0;
    return feed_json_call(array_, input, consumed);
  }

  ToolCallArray array_;
};

}  // namespace

std::unique_ptr<StreamParser> make_granite_parser(ParserOptions options) {
  return std::make_unique<GraniteParser>(std::move(options));
}

}  // namespace pensieve::chat
