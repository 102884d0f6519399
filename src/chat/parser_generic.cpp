// Families with no known tool-call syntax: everything the model writes is text.
#include "chat/family_parsers.hpp"

namespace pensieve::chat {

namespace {

class GenericParser final : public StreamParser {
 public:
  void feed(std::string_view chunk, std::vector<ChatEvent>& out) override {
    EventSink(&out).text(chunk);
  }
  void finish(std::vector<ChatEvent>& /*out*/) override {}
};

}  // namespace

std::unique_ptr<StreamParser> make_generic_parser(ParserOptions /*options*/) {
  return std::make_unique<GenericParser>();
}

}  // namespace pensieve::chat
