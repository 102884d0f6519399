// Llama 3.x: a call is the whole answer written as {"name": "f", "parameters": {...}}, sometimes
// after <|python_tag|>. With no marker to go by, an answer that opens with "{" is only taken for a
// call when it names an offered tool and has arguments; otherwise it is released as text.
#include "chat/family_parsers.hpp"
#include "chat/marker_parser.hpp"
#include "chat/tool_call_object.hpp"

namespace pensieve::chat {

namespace {

constexpr Marker kMarkers[] = {{"<|python_tag|>", 0}};

class Llama3Parser final : public MarkerParser {
 public:
  using MarkerParser::MarkerParser;

 private:
  std::span<const Marker> markers() const override { return kMarkers; }

  bool have_tools() const { return options().tools.is_array() && !options().tools.empty(); }

  bool implicit_body_at(char first_char) override { return first_char == '{' && have_tools(); }

  void begin_body(int /*opener*/) override {
    ToolCallObject::Rules rules;
    rules.require_arguments = true;
    rules.known_tools = have_tools() ? &options().tools : nullptr;
    object_.reset(rules);
  }

  BodyStatus parse_body(std::string_view input, size_t& consumed, bool /*at_end*/) override {
    consumed = 0;
    return feed_json_call(object_, input, consumed);
  }

  ToolCallObject object_;
};

}  // namespace

std::unique_ptr<StreamParser> make_llama3_parser(ParserOptions options) {
  return std::make_unique<Llama3Parser>(std::move(options));
}

}  // namespace pensieve::chat
