// chat/template_family: which model family a chat template belongs to, judged from the template
// source. The family decides how tool calls and reasoning appear in generated text (which stream
// parser to use) and what the template demands of its input (e.g. Mistral's 9-character ids).
#pragma once

#include <string_view>

namespace pensieve::chat {

enum class TemplateFamily {
  kGeneric,     // no tool-call syntax known (ChatML default, Gemma, Phi): everything is text
  kHermes,      // Hermes 2/3, Qwen2.5, Qwen3, SmolLM3: <tool_call>{"name", "arguments"}</tool_call>
  kQwen3Coder,  // <tool_call><function=NAME><parameter=P>value</parameter></function></tool_call>
  kLlama3,      // {"name": ..., "parameters": {...}} as the whole answer, or after <|python_tag|>
  kMistral,     // [TOOL_CALLS]: JSON array (Nemo), NAME[CALL_ID]id[ARGS]{} (3.2), NAME[ARGS]{}
  kGptOss,      // harmony: <|channel|>analysis|commentary|final, to=functions.NAME
  kDeepSeekR1,  // <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME ```json {...}```<｜tool▁call▁end｜>
  kGlm,         // GLM-4.5/4.6: <tool_call>NAME<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>
  kKimiK2,      // <|tool_call_begin|>functions.NAME:i<|tool_call_argument_begin|>{...}<|tool_call_end|>
  kGranite,     // <|tool_call|>[{"name", "arguments"}], <think>/<response> sections
};

const char* to_string(TemplateFamily family);

struct TemplateTraits {
  TemplateFamily family = TemplateFamily::kGeneric;
  // The model may open its answer with <think>…</think> reasoning.
  bool think_tags = false;
};

// Judges a template by the markers it writes; a template that matches nothing is kGeneric.
TemplateTraits detect_template_traits(std::string_view template_source);

// True when a rendered prompt leaves a <think> open (DeepSeek-R1 distills and Qwen3 thinking
// variants put "<think>\n" into the generation prompt), so generation starts inside reasoning.
bool prompt_opens_reasoning(std::string_view rendered_prompt);

// The template used when a model carries none: plain ChatML.
std::string_view default_chat_template();

}  // namespace pensieve::chat
