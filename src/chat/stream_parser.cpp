#include "chat/stream_parser.hpp"

#include <utility>

#include "chat/family_parsers.hpp"

namespace pensieve::chat {

namespace {

std::unique_ptr<StreamParser> make_family_parser(TemplateFamily family, ParserOptions options) {
  switch (family) {
    case TemplateFamily::kGeneric: return make_generic_parser(std::move(options));
    case TemplateFamily::kHermes: return make_hermes_parser(std::move(options));
    case TemplateFamily::kQwen3Coder: return make_qwen3_coder_parser(std::move(options));
    case TemplateFamily::kLlama3: return make_llama3_parser(std::move(options));
    case TemplateFamily::kMistral: return make_mistral_parser(std::move(options));
    case TemplateFamily::kGptOss: return make_gpt_oss_parser(std::move(options));
    case TemplateFamily::kDeepSeekR1: return make_deepseek_r1_parser(std::move(options));
    case TemplateFamily::kGlm: return make_glm_parser(std::move(options));
    case TemplateFamily::kKimiK2: return make_kimi_k2_parser(std::move(options));
    case TemplateFamily::kGranite: return make_granite_parser(std::move(options));
  }
  return make_generic_parser(std::move(options));
}

}  // namespace

std::unique_ptr<StreamParser> make_stream_parser(const TemplateTraits& traits, ParserOptions options) {
  const bool starts_in_reasoning = options.starts_in_reasoning;
  const TemplateFamily family = options.parse_tool_calls || traits.family == TemplateFamily::kGptOss
                                    ? traits.family
                                    : TemplateFamily::kGeneric;
  auto parser = make_family_parser(family, std::move(options));
  if (traits.think_tags || starts_in_reasoning) {
    parser = make_reasoning_splitter(std::move(parser), starts_in_reasoning);
  }
  return parser;
}

std::vector<ChatEvent> parse_all(StreamParser& parser, std::string_view text) {
  std::vector<ChatEvent> events;
  parser.feed(text, events);
  parser.finish(events);
  return events;
}

}  // namespace pensieve::chat
