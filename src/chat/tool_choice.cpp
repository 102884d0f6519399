#include "chat/tool_choice.hpp"

#include "chat/anthropic_mapping.hpp"
#include "grammar/builder.hpp"

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

ToolCallPrefiller::CallParts ToolCallPrefiller::call_parts(const nlohmann::ordered_json& context) const {
  CallParts p;
  switch (syntax_) {
    case Syntax::kNone:
      break;
    case Syntax::kHermes:
      p.close = "}\n</tool_call>";
      p.next = "\n<tool_call>\n{\"name\": \"";
      p.before = "<tool_call>\n{\"name\": \"";
      p.after = "\", \"arguments\": ";
      p.json_name = true;
      break;
    case Syntax::kQwen3Coder:
      p.before = "<tool_call>\n<function=";
      p.after = ">\n";
      break;
    case Syntax::kLlama3:
      p.close = "}";
      p.before = "{\"name\": \"";
      p.after = "\", \"parameters\": ";
      p.json_name = true;
      break;
    case Syntax::kMistralArray:
      p.close = "}]";
      p.call_id = true;
      p.before = "[TOOL_CALLS][{\"name\": \"";
      p.after = "\", \"arguments\": ";
      p.json_name = true;
      break;
    case Syntax::kMistralCallId:
      p.close = "";
      p.before = "[TOOL_CALLS]";
      // The id is ours either way (the parser does not keep the model's): write one, so the model
      // goes straight on to the arguments.
      p.after =
          "[CALL_ID]" + mistral_tool_call_id("prefill-" + std::to_string(calls_so_far(context))) + "[ARGS]";
      break;
    case Syntax::kMistralArgs:
      p.close = "";
      p.before = "[TOOL_CALLS]";
      p.after = "[ARGS]";
      break;
    case Syntax::kGptOss:
      p.close = "";
      // The generation prompt ends with "<|start|>assistant"; the template writes a call as
      // "<|start|>assistant to=functions.NAME<|channel|>commentary json<|message|>{...}<|call|>".
      p.before = " to=functions.";
      p.after = "<|channel|>commentary json<|message|>";
      break;
    case Syntax::kDeepSeekR1:
      p.before = std::string(kDeepSeekCallsBegin) + std::string(kDeepSeekCallBegin) + "function" +
                 std::string(kDeepSeekSep);
      p.after = "\n```json\n";
      break;
    case Syntax::kGlm:
      p.before = "\n<tool_call>";
      p.after = "\n";
      break;
    case Syntax::kKimiK2:
      p.before = "<|tool_calls_section_begin|><|tool_call_begin|>functions.";
      p.after = ":" + std::to_string(calls_so_far(context)) + "<|tool_call_argument_begin|>";
      break;
    case Syntax::kGranite:
      p.close = "}]";
      p.before = "<|tool_call|>[{\"name\": \"";
      p.after = "\", \"arguments\": ";
      p.json_name = true;
      break;
  }
  return p;
}

Result<std::optional<ToolCallPrefill>> ToolCallPrefiller::prefill(ToolChoiceMode mode, std::string_view name,
                                                                  const nlohmann::ordered_json& context,
                                                                  std::string_view rendered_prompt) const {
  if (mode == ToolChoiceMode::kAuto || mode == ToolChoiceMode::kNone) return std::optional<ToolCallPrefill>();
  const auto tools = context.find("tools");
  if (tools == context.end() || !tools->is_array() || tools->empty()) {
    return make_error(
        ErrorCode::kInvalidArgument,
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

  const CallParts parts = call_parts(context);
  if (syntax_ == Syntax::kNone) return std::optional<ToolCallPrefill>();
  const std::string& before = parts.before;
  const std::string& after = parts.after;
  const bool json_name = parts.json_name;
  out.text += before;
  if (mode == ToolChoiceMode::kTool) {
    out.name_begin = out.text.size();
    out.text += json_name ? json_escaped(name) : std::string(name);
    out.name_end = out.text.size();
    out.text += after;
  }
  return std::optional<ToolCallPrefill>(std::move(out));
}

Result<std::shared_ptr<const grammar::Grammar>> ToolCallPrefiller::call_grammar(
    ToolChoiceMode mode, std::string_view name, const nlohmann::ordered_json& context, bool parallel,
    std::vector<std::string>* unconstrained) const {
  return call_grammar(mode, name, context, parallel, "", unconstrained);
}

Result<std::optional<ToolCallPrefiller::LazyCall>> ToolCallPrefiller::lazy_call(
    const nlohmann::ordered_json& context, std::vector<std::string>* unconstrained) const {
  if (syntax_ != Syntax::kHermes) return std::optional<LazyCall>();
  constexpr std::string_view kTrigger = "<tool_call>";
  const CallParts parts = call_parts(context);
  auto g = call_grammar(ToolChoiceMode::kAny, "", context, false,
                        std::string_view(parts.before).substr(kTrigger.size()), unconstrained);
  if (!g) return g.error();
  if (!*g) return std::optional<LazyCall>();
  return std::optional<LazyCall>(LazyCall{std::string(kTrigger), std::move(*g)});
}

Result<std::shared_ptr<const grammar::Grammar>> ToolCallPrefiller::call_grammar(
    ToolChoiceMode mode, std::string_view name, const nlohmann::ordered_json& context, bool parallel,
    std::string_view lead, std::vector<std::string>* unconstrained) const {
  using Grammar = std::shared_ptr<const grammar::Grammar>;
  if (mode != ToolChoiceMode::kAny && mode != ToolChoiceMode::kTool) return Grammar();
  const CallParts parts = call_parts(context);
  if (!parts.close) return Grammar();
  const auto tools = context.find("tools");
  if (tools == context.end() || !tools->is_array()) return Grammar();

  grammar::GrammarBuilder b;
  std::vector<grammar::GrammarBuilder::Rule> calls;  // the first call, after the prefill
  std::vector<grammar::GrammarBuilder::Rule> named;  // any call from its name on
  for (const auto& tool : *tools) {
    const auto function = tool.find("function");
    if (function == tool.end() || !function->is_object() || !function->contains("name") ||
        !(*function)["name"].is_string())
      continue;
    const std::string tool_name = (*function)["name"].get<std::string>();
    if (mode == ToolChoiceMode::kTool && tool_name != name) continue;
    const auto schema = function->find("parameters");
    auto arguments = schema != function->end() && schema->is_object() && !schema->empty()
                         ? b.json_schema(*schema)
                         : Result<grammar::GrammarBuilder::Rule>(b.any_json());
    if (!arguments) {
      if (unconstrained)
        unconstrained->push_back("the input_schema of tool \"" + tool_name +
                                 "\": " + arguments.error().message);
      arguments = b.json_schema(nlohmann::ordered_json{{"type", "object"}});  // any object
      if (!arguments) return arguments.error();
    }
    std::vector<grammar::GrammarBuilder::Rule> rest{*arguments};
    if (parts.call_id)
      rest.push_back(b.optional(b.sequence({b.literal(", \"id\": "), b.json_string(1, 64)})));
    rest.push_back(b.literal(*parts.close));
    const auto from_arguments = b.sequence(std::move(rest));
    const auto from_name = b.sequence(
        {b.literal((parts.json_name ? json_escaped(tool_name) : tool_name) + parts.after), from_arguments});
    named.push_back(from_name);
    // For "any" the model also picks the tool: its name and the syntax up to the arguments.
    calls.push_back(mode == ToolChoiceMode::kAny ? from_name : from_arguments);
  }
  if (calls.empty()) return Grammar();
  const auto either = [&b](std::vector<grammar::GrammarBuilder::Rule> rules) {
    return rules.size() == 1 ? rules.front() : b.alternatives(std::move(rules));
  };
  std::vector<grammar::GrammarBuilder::Rule> sequence;
  if (!lead.empty()) sequence.push_back(b.literal(lead));
  sequence.push_back(either(std::move(calls)));
  constexpr std::size_t kMoreCalls = 7;
  if (parallel && parts.next)
    sequence.push_back(
        b.repeat(b.sequence({b.literal(*parts.next), either(std::move(named))}), 0, kMoreCalls));
  return b.try_build(b.sequence(std::move(sequence)));
}

}  // namespace pensieve::chat
