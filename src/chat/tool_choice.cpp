#include "chat/tool_choice.hpp"

#include "chat/anthropic_mapping.hpp"

namespace pensieve::chat {

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// The DeepSeek markers use U+FF5C (fullwidth vertical line) and U+2581 (lower one eighth block).
#define PENSIEVE_DS_BAR "\xEF\xBD\x9C"
#define PENSIEVE_DS_SPACE "\xE2\x96\x81"
constexpr std::string_view kDeepSeekCallsBegin =
    "<" PENSIEVE_DS_BAR "tool" PENSIEVE_DS_SPACE "calls" PENSIEVE_DS_SPACE "begin" PENSIEVE_DS_BAR ">";
constexpr std::string_view kDeepSeekCallBegin =
    "<" PENSIEVE_DS_BAR "tool" PENSIEVE_DS_SPACE "call" PENSIEVE_DS_SPACE "begin" PENSIEVE_DS_BAR ">";
constexpr std::string_view kDeepSeekSep = "<" PENSIEVE_DS_BAR "tool" PENSIEVE_DS_SPACE "sep" PENSIEVE_DS_BAR ">";
#undef PENSIEVE_DS_BAR
#undef PENSIEVE_DS_SPACE

// A name inside a JSON string literal.
std::string json_escaped(std::string_view name) {
  const std::string quoted = nlohmann::json(std::string(name)).dump();
  return quoted.substr(1, quoted.size() - 2);
}

bool offers_tool(const nlohmann::ordered_json& context, std::string_view name) {
  const auto tools = context.find("tools");
  if (tools == context.end() || !tools->is_array()) return false;
  for (const auto& tool : *tools) {
    const auto function = tool.find("function");
    if (function == tool.end() || !function->is_object()) continue;
    const auto tool_name = function->find("name");
    if (tool_name != function->end() && tool_name->is_string() && *tool_name == name) return true;
  }
  return false;
}

// Kimi-K2 numbers every call of the conversation (functions.NAME:INDEX); the next is the count.
std::size_t calls_so_far(const nlohmann::ordered_json& context) {
  std::size_t n = 0;
  const auto messages = context.find("messages");
  if (messages == context.end() || !messages->is_array()) return 0;
  for (const auto& message : *messages) {
    const auto calls = message.find("tool_calls");
    if (calls != message.end() && calls->is_array()) n += calls->size();
  }
  return n;
}

}  // namespace

ToolCallPrefiller::ToolCallPrefiller(const TemplateTraits& traits, std::string_view template_source)
    : think_tags_(traits.think_tags) {
  switch (traits.family) {
    case TemplateFamily::kGeneric: syntax_ = Syntax::kNone; break;
    case TemplateFamily::kHermes: syntax_ = Syntax::kHermes; break;
    case TemplateFamily::kQwen3Coder: syntax_ = Syntax::kQwen3Coder; break;
    case TemplateFamily::kLlama3: syntax_ = Syntax::kLlama3; break;
    case TemplateFamily::kMistral:
      syntax_ = contains(template_source, "[CALL_ID]") ? Syntax::kMistralCallId
                : contains(template_source, "[ARGS]") ? Syntax::kMistralArgs
                                                      : Syntax::kMistralArray;
      break;
    case TemplateFamily::kGptOss: syntax_ = Syntax::kGptOss; break;
    case TemplateFamily::kDeepSeekR1: syntax_ = Syntax::kDeepSeekR1; break;
    case TemplateFamily::kGlm: syntax_ = Syntax::kGlm; break;
    case TemplateFamily::kKimiK2: syntax_ = Syntax::kKimiK2; break;
    case TemplateFamily::kGranite: syntax_ = Syntax::kGranite; break;
  }
}

Result<std::optional<ToolCallPrefill>> ToolCallPrefiller::prefill(ToolChoiceMode mode, std::string_view name,
                                                                  const nlohmann::ordered_json& context,
                                                                  std::string_view rendered_prompt) const {
  if (mode == ToolChoiceMode::kAuto || mode == ToolChoiceMode::kNone) return std::optional<ToolCallPrefill>();
  const auto tools = context.find("tools");
  if (tools == context.end() || !tools->is_array() || tools->empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "tool_choice asks for a tool call, but the request offers no tools with an input_schema");
  }
  if (mode == ToolChoiceMode::kTool && !offers_tool(context, name)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "tool_choice names the tool \"" + std::string(name) + "\", which is not in \"tools\"");
  }
  if (!supported()) return std::optional<ToolCallPrefill>();

  ToolCallPrefill out;
  // A prompt that leaves reasoning open gets it closed, empty, before the call.
  if (think_tags_ && prompt_opens_reasoning(rendered_prompt)) out.text = "</think>\n\n";

  // Each syntax is: `before` NAME `after`; kAny stops before the name.
  std::string before;
  std::string after;
  bool json_name = false;
  switch (syntax_) {
    case Syntax::kNone: return std::optional<ToolCallPrefill>();
    case Syntax::kHermes:
      before = "<tool_call>\n{\"name\": \"";
      after = "\", \"arguments\": ";
      json_name = true;
      break;
    case Syntax::kQwen3Coder:
      before = "<tool_call>\n<function=";
      after = ">\n";
      break;
    case Syntax::kLlama3:
      before = "{\"name\": \"";
      after = "\", \"parameters\": ";
      json_name = true;
      break;
    case Syntax::kMistralArray:
      before = "[TOOL_CALLS][{\"name\": \"";
      after = "\", \"arguments\": ";
      json_name = true;
      break;
    case Syntax::kMistralCallId:
      before = "[TOOL_CALLS]";
      // The id is ours either way (the parser does not keep the model's): write one, so the model
      // goes straight on to the arguments.
      after = "[CALL_ID]" + mistral_tool_call_id("prefill-" + std::to_string(calls_so_far(context))) + "[ARGS]";
      break;
    case Syntax::kMistralArgs:
      before = "[TOOL_CALLS]";
      after = "[ARGS]";
      break;
    case Syntax::kGptOss:
      // The generation prompt ends with "<|start|>assistant"; the template writes a call as
      // "<|start|>assistant to=functions.NAME<|channel|>commentary json<|message|>{...}<|call|>".
      before = " to=functions.";
      after = "<|channel|>commentary json<|message|>";
      break;
    case Syntax::kDeepSeekR1:
      before = std::string(kDeepSeekCallsBegin) + std::string(kDeepSeekCallBegin) + "function" +
               std::string(kDeepSeekSep);
      after = "\n```json\n";
      break;
    case Syntax::kGlm:
      before = "\n<tool_call>";
      after = "\n";
      break;
    case Syntax::kKimiK2:
      before = "<|tool_calls_section_begin|><|tool_call_begin|>functions.";
      after = ":" + std::to_string(calls_so_far(context)) + "<|tool_call_argument_begin|>";
      break;
    case Syntax::kGranite:
      before = "<|tool_call|>[{\"name\": \"";
      after = "\", \"arguments\": ";
      json_name = true;
      break;
  }
  out.text += before;
  if (mode == ToolChoiceMode::kTool) {
    out.name_begin = out.text.size();
    out.text += json_name ? json_escaped(name) : std::string(name);
    out.name_end = out.text.size();
    out.text += after;
  }
  return std::optional<ToolCallPrefill>(std::move(out));
}

}  // namespace pensieve::chat
