#include "chat/tool_choice.hpp"

#include "chat/anthropic_mapping.hpp"
#include "grammar/builder.hpp"
#include "grammar/control_token.hpp"

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
constexpr std::string_view kDeepSeekCallEnd =
    "<" PENSIEVE_DS_BAR "tool" PENSIEVE_DS_SPACE "call" PENSIEVE_DS_SPACE "end" PENSIEVE_DS_BAR ">";
constexpr std::string_view kDeepSeekCallsEnd =
    "<" PENSIEVE_DS_BAR "tool" PENSIEVE_DS_SPACE "calls" PENSIEVE_DS_SPACE "end" PENSIEVE_DS_BAR ">";
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

ToolCallPrefiller::CallParts ToolCallPrefiller::call_parts(const nlohmann::ordered_json& context,
                                                           std::size_t k) const {
  CallParts p;
  switch (syntax_) {
    case Syntax::kNone:
      break;
    case Syntax::kHermes:
      p.before = "<tool_call>\n{\"name\": \"";
      p.after = "\", \"arguments\": ";
      p.json_name = true;
      p.close = "}\n</tool_call>";
      p.next = "\n<tool_call>\n{\"name\": \"";
      p.trigger = "<tool_call>";
      p.tokens = {"<tool_call>", "</tool_call>"};
      break;
    case Syntax::kQwen3Coder:
      p.before = "<tool_call>\n<function=";
      p.after = ">\n";
      p.arguments = Arguments::kQwen3Coder;
      p.close = "</function>\n</tool_call>";
      p.next = "\n<tool_call>\n<function=";
      p.trigger = "<tool_call>";
      p.bare_opener = "<function=";
      p.bare_close = "</function>";
      p.tokens = {"<tool_call>", "</tool_call>"};
      break;
    case Syntax::kLlama3:
      // One bare JSON object: no opener to trigger on, and the templates write one call a turn.
      p.before = "{\"name\": \"";
      p.after = "\", \"parameters\": ";
      p.json_name = true;
      p.close = "}";
      break;
    case Syntax::kMistralArray:
      p.before = "[TOOL_CALLS][{\"name\": \"";
      p.after = "\", \"arguments\": ";
      p.json_name = true;
      p.call_id = true;
      p.close = "}";
      p.next = ", {\"name\": \"";
      p.end = "]";
      p.trigger = "[TOOL_CALLS]";
      p.tokens = {"[TOOL_CALLS]"};
      break;
    case Syntax::kMistralCallId:
      p.before = "[TOOL_CALLS]";
      // The id is ours either way (the parser does not keep the model's): write one, so the model
      // goes straight on to the arguments.
      p.after = "[CALL_ID]" + mistral_tool_call_id("prefill-" + std::to_string(calls_so_far(context) + k)) +
                "[ARGS]";
      p.numbered = true;
      p.next = "[TOOL_CALLS]";
      p.trigger = "[TOOL_CALLS]";
      p.tokens = {"[TOOL_CALLS]", "[CALL_ID]", "[ARGS]"};
      break;
    case Syntax::kMistralArgs:
      p.before = "[TOOL_CALLS]";
      p.after = "[ARGS]";
      p.next = "[TOOL_CALLS]";
      p.trigger = "[TOOL_CALLS]";
      p.tokens = {"[TOOL_CALLS]", "[ARGS]"};
      break;
    case Syntax::kGptOss:
      // The generation prompt ends with "<|start|>assistant"; the template writes a call as
      // "<|start|>assistant to=functions.NAME<|channel|>commentary json<|message|>{...}<|call|>",
      // and <|call|> ends the generation (one call a turn). The model itself may write the
      // channel first and the recipient after it ("<|channel|>commentary to=functions.NAME
      // <|constrain|>json<|message|>"), so what follows a name it writes may be either.
      p.before = " to=functions.";
      p.after = "<|channel|>commentary json<|message|>";
      p.other_afters = {" <|constrain|>json<|message|>", "<|constrain|>json<|message|>", " json<|message|>",
                        "<|message|>"};
      p.trigger = "to=functions.";
      // A message's body runs from <|message|> to <|end|> (the other ends end the generation).
      p.quiet_open = {"<|message|>"};
      p.quiet_close = {"<|end|>"};
      p.tokens = {"<|channel|>", "<|constrain|>", "<|message|>"};
      break;
    case Syntax::kDeepSeekR1:
      p.before = std::string(kDeepSeekCallsBegin) + std::string(kDeepSeekCallBegin) + "function" +
                 std::string(kDeepSeekSep);
      p.after = "\n```json\n";
      p.close = "\n```" + std::string(kDeepSeekCallEnd);
      p.next = "\n" + std::string(kDeepSeekCallBegin) + "function" + std::string(kDeepSeekSep);
      p.end = std::string(kDeepSeekCallsEnd);
      p.trigger = std::string(kDeepSeekCallsBegin);
      p.tokens = {std::string(kDeepSeekCallsBegin), std::string(kDeepSeekCallBegin),
                  std::string(kDeepSeekSep), std::string(kDeepSeekCallEnd), std::string(kDeepSeekCallsEnd)};
      break;
    case Syntax::kGlm:
      p.before = "\n<tool_call>";
      p.after = "\n";
      p.arguments = Arguments::kGlm;
      p.close = "</tool_call>";
      p.next = "\n<tool_call>";
      p.trigger = "<tool_call>";
      p.tokens = {"<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"};
      break;
    case Syntax::kKimiK2:
      p.before = "<|tool_calls_section_begin|><|tool_call_begin|>functions.";
      p.after = ":" + std::to_string(calls_so_far(context) + k) + "<|tool_call_argument_begin|>";
      p.numbered = true;
      p.close = "<|tool_call_end|>";
      p.next = "<|tool_call_begin|>functions.";
      p.end = "<|tool_calls_section_end|>";
      p.trigger = "<|tool_calls_section_begin|>";
      p.tokens = {"<|tool_calls_section_begin|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>",
                  "<|tool_call_end|>", "<|tool_calls_section_end|>"};
      break;
    case Syntax::kGranite:
      p.before = "<|tool_call|>[{\"name\": \"";
      p.after = "\", \"arguments\": ";
      p.json_name = true;
      p.close = "}";
      p.next = ", {\"name\": \"";
      p.end = "]";
      p.trigger = "<|tool_call|>";
      p.tokens = {"<|tool_call|>"};
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

  const CallParts parts = call_parts(context, 0);
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
  if (mode != ToolChoiceMode::kAny && mode != ToolChoiceMode::kTool)
    return std::shared_ptr<const grammar::Grammar>();
  return call_grammar(mode, name, context, parallel, false, unconstrained);
}

Result<std::optional<ToolCallPrefiller::LazyCall>> ToolCallPrefiller::lazy_call(
    const nlohmann::ordered_json& context, bool parallel, std::vector<std::string>* unconstrained) const {
  const CallParts parts = call_parts(context, 0);
  if (parts.trigger.empty()) return std::optional<LazyCall>();
  auto g = call_grammar(ToolChoiceMode::kAny, "", context, parallel, true, unconstrained);
  if (!g) return g.error();
  if (!*g) return std::optional<LazyCall>();
  LazyCall lazy{{{parts.trigger}, {}, parts.quiet_open, parts.quiet_close}, std::move(*g)};
  if (!parts.bare_opener.empty()) lazy.trigger.openings.push_back(parts.bare_opener);
  // A marker may come as its control token too.
  auto add_control_tokens = [&](std::vector<std::string>& texts) {
    const std::size_t n = texts.size();
    for (std::size_t i = 0; i < n; ++i)
      for (const std::string& token : parts.tokens)
        if (token == texts[i]) texts.push_back(grammar::control_token_bytes(token));
  };
  add_control_tokens(lazy.trigger.texts);
  add_control_tokens(lazy.trigger.quiet_open);
  add_control_tokens(lazy.trigger.quiet_close);
  return std::optional<LazyCall>(std::move(lazy));
}

namespace {

using Rule = grammar::GrammarBuilder::Rule;

Rule either(grammar::GrammarBuilder& b, std::vector<Rule> rules) {
  return rules.size() == 1 ? rules.front() : b.alternatives(std::move(rules));
}

}  // namespace

Result<grammar::GrammarBuilder::Rule> ToolCallPrefiller::arguments_rule(
    grammar::GrammarBuilder& b, const CallParts& parts, const nlohmann::ordered_json& schema) const {
  if (parts.arguments == Arguments::kJson) return b.json_schema(schema);
  grammar::MarkupForm form = parts.arguments == Arguments::kQwen3Coder ? grammar::MarkupForm::qwen3_coder()
                                                                       : grammar::MarkupForm::glm();
  form.tokens = parts.tokens;
  return b.markup_arguments(schema, form);
}

Result<std::shared_ptr<const grammar::Grammar>> ToolCallPrefiller::call_grammar(
    ToolChoiceMode mode, std::string_view name, const nlohmann::ordered_json& context, bool parallel,
    bool lazy, std::vector<std::string>* unconstrained) const {
  using Grammar = std::shared_ptr<const grammar::Grammar>;
  if (syntax_ == Syntax::kNone) return Grammar();
  const CallParts parts = call_parts(context, 0);
  const auto tools = context.find("tools");
  if (tools == context.end() || !tools->is_array()) return Grammar();

  grammar::GrammarBuilder b;
  auto text = [&](const std::string& t) { return b.text_with_tokens(t, parts.tokens); };
  // Up to this many calls in a row where the family writes several (and may).
  constexpr std::size_t kMaxCalls = 8;
  const std::size_t count = parallel && parts.next ? kMaxCalls : 1;
  // Per tool: its name as written, and its arguments with the call's close.
  std::vector<std::string> names;
  std::vector<Rule> from_arguments, bare_from_arguments;
  const nlohmann::ordered_json any_object{{"type", "object"}};
  // Mistral Nemo's optional call id, made once for all the tools.
  std::optional<Rule> call_id;
  if (parts.call_id) call_id = b.optional(b.sequence({b.literal(", \"id\": "), b.json_string(1, 64)}));
  for (const auto& tool : *tools) {
    const auto function = tool.find("function");
    if (function == tool.end() || !function->is_object() || !function->contains("name") ||
        !(*function)["name"].is_string())
      continue;
    const std::string tool_name = (*function)["name"].get<std::string>();
    if (mode == ToolChoiceMode::kTool && tool_name != name) continue;
    const auto schema = function->find("parameters");
    const bool has_schema = schema != function->end() && schema->is_object() && !schema->empty();
    auto arguments = arguments_rule(b, parts, has_schema ? *schema : any_object);
    if (!arguments) {
      if (unconstrained)
        unconstrained->push_back("the input_schema of tool \"" + tool_name +
                                 "\": " + arguments.error().message);
      arguments = arguments_rule(b, parts, any_object);
      if (!arguments) return arguments.error();
    }
    std::vector<Rule> rest{*arguments};
    if (call_id) rest.push_back(*call_id);
    if (!parts.close.empty()) rest.push_back(text(parts.close));
    from_arguments.push_back(b.sequence(std::move(rest)));
    if (lazy && !parts.bare_opener.empty())
      bare_from_arguments.push_back(b.sequence({*arguments, text(parts.bare_close)}));
    names.push_back(parts.json_name ? json_escaped(tool_name) : tool_name);
  }
  if (from_arguments.empty()) return Grammar();

  // Call number k (0: the first) from its name on, the model naming the tool.
  auto from_name = [&](std::size_t k, const std::vector<Rule>& arguments_and_close) {
    const CallParts numbered = parts.numbered && k > 0 ? call_parts(context, k) : parts;
    std::vector<Rule> afters{text(numbered.after)};
    for (const std::string& other : parts.other_afters) afters.push_back(text(other));
    const Rule after = either(b, std::move(afters));
    std::vector<Rule> calls;
    for (std::size_t t = 0; t < names.size(); ++t)
      calls.push_back(b.sequence({b.literal(names[t]), after, arguments_and_close[t]}));
    return either(b, std::move(calls));
  };
  std::vector<Rule> sequence;
  if (lazy) {
    // From the trigger on: the rest of the opener.
    const std::string lead = parts.before.substr(parts.before.find(parts.trigger) + parts.trigger.size());
    if (!lead.empty()) sequence.push_back(text(lead));
  }
  // For "tool" the prefill wrote the first call's name and what follows it.
  sequence.push_back(mode == ToolChoiceMode::kTool ? either(b, from_arguments)
                                                   : from_name(0, from_arguments));
  // Lazily, calls that each open with the trigger are held one at a time; a section of calls
  // (closed by `end`) is held whole.
  const bool more = count > 1 && !(lazy && parts.end.empty());
  if (more && parts.numbered) {
    // (next call1 (next call2 (...)?)?)?: each call with its own number.
    Rule tail = b.empty();
    for (std::size_t k = count - 1; k >= 1; --k)
      tail = b.optional(b.sequence({text(*parts.next), from_name(k, from_arguments), tail}));
    sequence.push_back(tail);
  } else if (more) {
    sequence.push_back(b.repeat(b.sequence({text(*parts.next), from_name(1, from_arguments)}), 0, count - 1));
  }
  if (!parts.end.empty()) sequence.push_back(text(parts.end));
  if (bare_from_arguments.empty()) return b.try_build(b.sequence(std::move(sequence)));
  // The bare form's grammar begins with its opener, which the trigger's own form never writes
  // first.
  const Rule bare = b.sequence({b.literal(parts.bare_opener), from_name(0, bare_from_arguments)});
  return b.try_build(b.alternatives({b.sequence(std::move(sequence)), bare}));
}

}  // namespace pensieve::chat
