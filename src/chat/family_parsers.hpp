// chat/family_parsers: one stream parser per model family (see template_family.hpp for the
// syntax each reads), and the <think> splitter that goes in front of those that reason.
#pragma once

#include <memory>

#include "chat/stream_parser.hpp"

namespace pensieve::chat {

std::unique_ptr<StreamParser> make_generic_parser(ParserOptions options);
std::unique_ptr<StreamParser> make_hermes_parser(ParserOptions options);
std::unique_ptr<StreamParser> make_qwen3_coder_parser(ParserOptions options);
std::unique_ptr<StreamParser> make_llama3_parser(ParserOptions options);
std::unique_ptr<StreamParser> make_mistral_parser(ParserOptions options);
std::unique_ptr<StreamParser> make_gpt_oss_parser(ParserOptions options);
std::unique_ptr<StreamParser> make_deepseek_r1_parser(ParserOptions options);
std::unique_ptr<StreamParser> make_glm_parser(ParserOptions options);
std::unique_ptr<StreamParser> make_kimi_k2_parser(ParserOptions options);
std::unique_ptr<StreamParser> make_granite_parser(ParserOptions options);

// Sends <think>…</think> at the start of the answer (or everything up to </think> when generation
// starts inside reasoning) out as reasoning and the rest through `inner`.
std::unique_ptr<StreamParser> make_reasoning_splitter(std::unique_ptr<StreamParser> inner,
                                                      bool starts_in_reasoning);

}  // namespace pensieve::chat
