#include "chat/template_family.hpp"

#include <string_view>

namespace pensieve::chat {

const char* to_string(TemplateFamily family) {
  switch (family) {
    case TemplateFamily::kGeneric: return "generic";
    case TemplateFamily::kHermes: return "hermes";
    case TemplateFamily::kQwen3Coder: return "qwen3-coder";
    case TemplateFamily::kLlama3: return "llama3";
    case TemplateFamily::kMistral: return "mistral";
    case TemplateFamily::kGptOss: return "gpt-oss";
    case TemplateFamily::kDeepSeekR1: return "deepseek-r1";
    case TemplateFamily::kGlm: return "glm";
    case TemplateFamily::kKimiK2: return "kimi-k2";
    case TemplateFamily::kGranite: return "granite";
  }
  return "unknown";
}

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Ordered from the most specific marker to the most general: Qwen3-Coder and GLM also write
// <tool_call>, so they must be recognised before Hermes.
TemplateFamily detect_family(std::string_view source) {
  if (contains(source, "<|channel|>") && contains(source, "<|start|>")) return TemplateFamily::kGptOss;
  if (contains(source, "<|tool_calls_section_begin|>") || contains(source, "<|tool_call_begin|>")) {
    return TemplateFamily::kKimiK2;
  }
  if (contains(source, "<arg_key>")) return TemplateFamily::kGlm;
  if (contains(source, "<tool_call>") && contains(source, "<function=")) return TemplateFamily::kQwen3Coder;
  if (contains(source, "tool\xE2\x96\x81" "call\xE2\x96\x81" "begin")) return TemplateFamily::kDeepSeekR1;
  if (contains(source, "[TOOL_CALLS]")) return TemplateFamily::kMistral;
  if (contains(source, "<|start_of_role|>")) return TemplateFamily::kGranite;
  if (contains(source, "<tool_call>")) return TemplateFamily::kHermes;
  // SmolLM3 speaks Hermes tool calls; the fixture's Unsloth edit of its template omits them.
  if (contains(source, "SmolLM") || contains(source, "/no_think")) return TemplateFamily::kHermes;
  if (contains(source, "<|start_header_id|>") && contains(source, "<|eot_id|>")) return TemplateFamily::kLlama3;
  return TemplateFamily::kGeneric;
}

}  // namespace

TemplateTraits detect_template_traits(std::string_view template_source) {
  TemplateTraits traits;
  traits.family = detect_family(template_source);
  // gpt-oss reasons in its analysis channel, which its own parser handles.
  traits.think_tags = traits.family != TemplateFamily::kGptOss && contains(template_source, "<think>");
  // DeepSeek-R1 distills reason even where a template variant forgets to mention <think>.
  if (traits.family == TemplateFamily::kDeepSeekR1) traits.think_tags = true;
  return traits;
}

bool prompt_opens_reasoning(std::string_view rendered_prompt) {
  const size_t open = rendered_prompt.rfind("<think>");
  if (open == std::string_view::npos) return false;
  return rendered_prompt.find("</think>", open) == std::string_view::npos;
}

std::string_view default_chat_template() {
  return "{%- for message in messages -%}\n"
         "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}\n"
         "{%- endfor -%}\n"
         "{%- if add_generation_prompt -%}\n"
         "{{- '<|im_start|>assistant\\n' -}}\n"
         "{%- endif -%}\n";
}

}  // namespace pensieve::chat
