// Forced tool_choice on the real fixture templates: the prefill for "tool" must be the start of
// the call exactly as the family's own template writes that call in a later turn, and the
// family's parser fed prefill + the rest of that rendered call must give the call back.
#include "chat/tool_choice.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chat/anthropic_mapping.hpp"
#include "chat_fixtures.hpp"
#include "grammar/control_token.hpp"
#include "grammar/matcher.hpp"
#include "jinja/template.hpp"
#include "parser_test_support.hpp"
#include "support/conversation_from_body.hpp"

namespace pensieve::chat {
namespace {

using pensieve::testing::context_from_body;

using ojson = nlohmann::ordered_json;

using testing::kChatFixtures;
using testing::kTurnEnds;
using testing::read_text;

const ojson kRequest = testing::request_with_two_tools(R"([
    {"role": "user", "content": "Weather in Paris for 3 days?"},
    {"role": "assistant", "content": [
      {"type": "tool_use", "id": "toolu_01AbCdEf", "name": "get_weather", "input": {"location": "Paris", "days": 3}}]}])");

struct Family {
  const char* model;
  const char* turn_start;  // what the template writes before the assistant's own text
};

struct Loaded {
  std::string source;
  TemplateTraits traits;
  jinja::Template tmpl;
  ojson base;  // the fixture's render context, with the request's tools
};

Loaded load(const char* model, const ojson& tools) {
  std::string source = read_text(kChatFixtures + "templates/" + model + ".jinja");
  if (std::string_view(model) == "Kimi-K2-Instruct") {
    // list.append is refused by the sandbox; it only queues ids for later tool results.
    const std::string append = "tool_response_queue.ids.append(formatted_id)";
    source.replace(source.find(append), append.size(), "none");
  }
  auto tmpl = jinja::Template::parse(source);
  EXPECT_TRUE(tmpl.ok()) << tmpl.error().message;
  ojson base = ojson::parse(read_text(kChatFixtures + "expected.json"))["renders"][model]["context"];
  base["tools"] = tools;
  const TemplateTraits traits = detect_template_traits(source);
  return {std::move(source), traits, std::move(tmpl.value()), std::move(base)};
}

std::string render_with(const Loaded& t, const ojson& messages, bool generation_prompt) {
  ojson context = t.base;
  context["messages"] = messages;
  context["add_generation_prompt"] = generation_prompt;
  context["enable_thinking"] = false;  // as the frontend renders a forced call
  jinja::RenderOptions options;
  options.trusted_variables = {"bos_token", "eos_token"};
  options.clock = [] { return std::time_t{1795343400}; };
  options.utc = true;
  auto rendered = jinja::render(t.tmpl, context, options);
  EXPECT_TRUE(rendered.ok()) << rendered.error().message;
  return rendered.ok() ? rendered->text : std::string();
}

// Blanks and an empty think block: what may stand between a turn's start and its call.
bool only_blank_or_empty_think(std::string_view text) {
  std::string rest(text);
  for (const char* think : {"<think></think>", "<think>\n\n</think>"}) {
    if (const size_t at = rest.find(think); at != std::string::npos) rest.erase(at, std::string_view(think).size());
  }
  return rest.find_first_not_of(" \n") == std::string::npos;
}

const Family kFamilies[] = {
    {"Qwen-Qwen2.5-7B-Instruct", "<|im_start|>assistant\n"},
    {"Qwen-Qwen3-0.6B", "<|im_start|>assistant\n"},
    {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "<|im_start|>assistant\n"},
    {"Qwen3-Coder", "<|im_start|>assistant\n"},
    {"meta-llama-Llama-3.1-8B-Instruct", "<|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"meta-llama-Llama-3.2-3B-Instruct", "<|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"mistralai-Mistral-Nemo-Instruct-2407", ""},
    {"Mistral-Small-3.2-24B-Instruct-2506", ""},
    {"unsloth-mistral-Devstral-Small-2507", ""},
    {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "<｜Assistant｜>"},
    {"openai-gpt-oss-120b", "<|start|>assistant"},
    {"GLM-4.6", "<|assistant|>"},
    {"Kimi-K2-Instruct", "<|im_assistant|>assistant<|im_middle|>"},
};

bool markup_arguments(const TemplateTraits& traits) {
  return traits.family == TemplateFamily::kQwen3Coder || traits.family == TemplateFamily::kGlm;
}

// Constrained decoding: the grammar of what follows the prefill takes the call exactly as the
// template writes it (for "tool" after the name, for "any" from the name on), and refuses
// arguments the tool's schema does not allow and tools not offered; one call only, unless
// parallel calls are asked for.
void expect_grammar_takes_the_call(const TemplateTraits& traits, const ToolCallPrefiller& prefiller,
                                   const ojson& request_context, std::string continuation, std::string any) {
  for (std::string* text : {&continuation, &any}) text->erase(text->find_last_not_of(" \n") + 1);
  auto tool = prefiller.call_grammar(ToolChoiceMode::kTool, "get_weather", request_context);
  auto either = prefiller.call_grammar(ToolChoiceMode::kAny, "", request_context);
  ASSERT_TRUE(tool.ok() && either.ok());
  ASSERT_TRUE(*tool && *either);
  grammar::Matcher call(*tool);
  EXPECT_TRUE(call.accept(continuation)) << continuation;
  EXPECT_TRUE(call.can_end()) << continuation;
  EXPECT_TRUE(call.must_end()) << "one call only";
  grammar::Matcher named(*either);
  EXPECT_TRUE(named.accept(any)) << any;
  EXPECT_TRUE(named.can_end()) << any;
  // days: 3 is an integer; "3" in JSON, or the text "three" in markup, is not.
  std::string wrong = continuation;
  ASSERT_NE(wrong.find('3'), std::string::npos) << wrong;
  wrong.replace(wrong.find('3'), 1, markup_arguments(traits) ? "three" : "\"3\"");
  grammar::Matcher wrong_type(*tool);
  EXPECT_FALSE(wrong_type.accept(wrong)) << wrong;
  grammar::Matcher unknown_tool(*either);
  EXPECT_FALSE(unknown_tool.accept("delete_everything")) << "only the offered tools";
}

TEST(ToolChoice, ToolPrefillIsTheStartOfTheCallAsTheTemplateWritesItAndParsesBack) {
  for (const Family& f : kFamilies) {
    SCOPED_TRACE(f.model);
    auto context = context_from_body(kRequest);
    ASSERT_TRUE(context.ok());
    const Loaded t = load(f.model, (*context)["tools"]);
    auto mapped = context_from_body(kRequest, {t.traits.family});
    ASSERT_TRUE(mapped.ok());
    const ojson& messages = (*mapped)["messages"];
    const ToolCallPrefiller prefiller(t.traits, t.source);
    ASSERT_TRUE(prefiller.supported());

    // The prompt a request would get: the question, the generation prompt, then the prefill.
    const std::string prompt = render_with(t, ojson::array({messages[0]}), true);
    ojson request_context = t.base;
    request_context["messages"] = ojson::array({messages[0]});
    auto tool = prefiller.prefill(ToolChoiceMode::kTool, "get_weather", request_context, prompt);
    ASSERT_TRUE(tool.ok()) << tool.error().message;
    ASSERT_TRUE(tool->has_value());
    const ToolCallPrefill& prefill = **tool;
    EXPECT_EQ(prefill.text.substr(prefill.name_begin, prefill.name_end - prefill.name_begin), "get_weather");
    const bool reasoning_open = t.traits.think_tags && prompt_opens_reasoning(prompt);

    // The same call as the template renders it in the history.
    const std::string history = render_with(t, messages, false);
    const std::string question = render_with(t, ojson::array({messages[0]}), false);
    ASSERT_TRUE(history.starts_with(question));
    std::string turn = history.substr(question.size());
    const size_t start = turn.find(f.turn_start);
    ASSERT_NE(start, std::string::npos) << turn;
    turn.erase(0, start + std::string_view(f.turn_start).size());
    size_t end = turn.size();
    for (std::string_view mark : kTurnEnds) end = std::min(end, turn.find(mark));
    turn.resize(end);
    std::string call_prefix = prefill.text;
    if (call_prefix.starts_with("</think>\n\n")) call_prefix.erase(0, 10);
    if (t.traits.family == TemplateFamily::kMistral && turn.find("[CALL_ID]") != std::string::npos) {
      // The history's call id is the client's; ours is made up. Compare the rest.
      const size_t id = turn.find("[CALL_ID]") + 9;
      turn.replace(id, 9, call_prefix.substr(call_prefix.find("[CALL_ID]") + 9, 9));
    }
    const size_t at = turn.find(call_prefix);
    ASSERT_NE(at, std::string::npos) << "prefill [" << call_prefix << "] not in turn [" << turn << "]";
    EXPECT_TRUE(only_blank_or_empty_think(turn.substr(0, at))) << turn;
    const std::string continuation = turn.substr(at + call_prefix.size());

    ParserOptions options = testing::make_options(nlohmann::json((*mapped)["tools"]), reasoning_open);
    const std::vector<std::string> want = {"call:get_weather {\"days\":3,\"location\":\"Paris\"}"};
    EXPECT_EQ(testing::describe(testing::run_parser(t.traits, options, {prefill.text, continuation})), want)
        << prefill.text << continuation;
    // Byte by byte after the prefill, as tokens arrive.
    std::vector<std::string> chunks = {prefill.text};
    for (char c : continuation) chunks.emplace_back(1, c);
    EXPECT_EQ(testing::describe(testing::run_parser(t.traits, options, chunks)), want);

    // "any" writes only the opener: the model's continuation names the tool.
    auto any = prefiller.prefill(ToolChoiceMode::kAny, "", request_context, prompt);
    ASSERT_TRUE(any.ok() && any->has_value());
    const std::string& opener = (*any)->text;
    EXPECT_EQ((*any)->name_begin, (*any)->name_end);
    ASSERT_TRUE(prefill.text.starts_with(opener)) << opener;
    EXPECT_EQ(opener.size(), prefill.name_begin);
    const std::string model_writes = prefill.text.substr(opener.size()) + continuation;
    EXPECT_EQ(testing::describe(testing::run_parser(t.traits, options, {opener, model_writes})), want);

    expect_grammar_takes_the_call(t.traits, prefiller, request_context, continuation, model_writes);
  }
}

// The assistant turn of `messages` as the template renders it, after its first message (the
// question): from the turn's start to its end mark.
std::string rendered_turn(const Loaded& t, const Family& f, const ojson& messages) {
  const std::string history = render_with(t, messages, false);
  const std::string question = render_with(t, ojson::array({messages[0]}), false);
  EXPECT_TRUE(history.starts_with(question));
  std::string turn = history.substr(question.size());
  const size_t start = turn.find(f.turn_start);
  EXPECT_NE(start, std::string::npos) << turn;
  if (start == std::string::npos) return "";
  turn.erase(0, start + std::string_view(f.turn_start).size());
  size_t end = turn.size();
  for (std::string_view mark : kTurnEnds) end = std::min(end, turn.find(mark));
  turn.resize(end);
  turn.erase(turn.find_last_not_of(" \n") + 1);
  return turn;
}

// `text` with every marker of `markers` written as its control token instead.
std::string as_control_tokens(std::string text, std::initializer_list<std::string_view> markers) {
  for (const std::string_view marker : markers) {
    const std::string control = grammar::control_token_bytes(marker);
    for (size_t at = 0; (at = text.find(marker, at)) != std::string::npos; at += control.size())
      text.replace(at, marker.size(), control);
  }
  return text;
}

const ojson kTwoCalls = testing::request_with_two_tools(R"([
    {"role": "user", "content": "Weather in Paris for 3 days, and in Oslo?"},
    {"role": "assistant", "content": [
      {"type": "tool_use", "id": "toolu_01AbCdEf", "name": "get_weather", "input": {"location": "Paris", "days": 3}},
      {"type": "tool_use", "id": "toolu_02GhIjKl", "name": "get_weather", "input": {"location": "Oslo"}}]}])");

// Several forced calls in a row, exactly as each family's template writes them, unless only one
// is allowed; markers may come as control tokens. Llama 3 and gpt-oss write one call a turn, and
// Granite's fixture template renders no calls.
TEST(ToolChoice, ParallelForcedCallsAsTheTemplateWritesThem) {
  for (const Family& f : kFamilies) {
    const std::string_view model = f.model;
    if (model.find("Llama") != std::string_view::npos || model.find("gpt-oss") != std::string_view::npos)
      continue;
    SCOPED_TRACE(f.model);
    auto context = context_from_body(kTwoCalls);
    ASSERT_TRUE(context.ok());
    const Loaded t = load(f.model, (*context)["tools"]);
    auto mapped = context_from_body(kTwoCalls, {t.traits.family});
    ASSERT_TRUE(mapped.ok());
    const ojson& messages = (*mapped)["messages"];
    const ToolCallPrefiller prefiller(t.traits, t.source);
    ojson request_context = t.base;
    request_context["messages"] = ojson::array({messages[0]});
    auto prefill = prefiller.prefill(ToolChoiceMode::kTool, "get_weather", request_context, "");
    ASSERT_TRUE(prefill.ok() && prefill->has_value());
    std::string turn = rendered_turn(t, f, messages);
    if (turn.find("[CALL_ID]") != std::string::npos) {
      // The history's ids are the client's; ours are made up, one per call.
      for (size_t at = 0, k = 0; (at = turn.find("[CALL_ID]", at)) != std::string::npos; ++k, at += 9)
        turn.replace(at + 9, 9, mistral_tool_call_id("prefill-" + std::to_string(k)));
    }
    const size_t at = turn.find((*prefill)->text);
    ASSERT_NE(at, std::string::npos) << "prefill [" << (*prefill)->text << "] not in [" << turn << "]";
    const std::string continuation = turn.substr(at + (*prefill)->text.size());

    auto some = prefiller.call_grammar(ToolChoiceMode::kTool, "get_weather", request_context, true);
    auto one = prefiller.call_grammar(ToolChoiceMode::kTool, "get_weather", request_context, false);
    ASSERT_TRUE(some.ok() && *some && one.ok() && *one);
    grammar::Matcher both(*some);
    EXPECT_TRUE(both.accept(continuation)) << continuation;
    EXPECT_TRUE(both.can_end()) << continuation;
    grammar::Matcher marked(*some);
    const std::string controls = as_control_tokens(
        continuation,
        {"<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>",
         "<|tool_calls_section_end|>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>",
         "<｜tool▁calls▁end｜>", "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]", "</tool_call>", "<tool_call>",
         "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"});
    EXPECT_TRUE(marked.accept(controls) && marked.can_end()) << "markers as control tokens: " << continuation;
    grammar::Matcher single(*one);
    EXPECT_FALSE(single.accept(continuation)) << "disable_parallel_tool_use: " << continuation;

    // The family's parser reads both calls back.
    const auto options = testing::make_options(nlohmann::json((*mapped)["tools"]));
    EXPECT_EQ(testing::describe(testing::run_parser(t.traits, options, {(*prefill)->text, continuation})),
              (std::vector<std::string>{"call:get_weather {\"days\":3,\"location\":\"Paris\"}",
                                        "call:get_weather {\"location\":\"Oslo\"}"}));
  }
}

// tool_choice auto: every family with a distinct opener has a trigger, and its grammar takes the
// call as the template writes it from the trigger on (the trigger as text or as its control
// token); Llama 3's bare JSON has none.
TEST(ToolChoice, LazyCallsEngageAtEachFamilysOpener) {
  for (const Family& f : kFamilies) {
    SCOPED_TRACE(f.model);
    auto context = context_from_body(kRequest);
    ASSERT_TRUE(context.ok());
    const Loaded t = load(f.model, (*context)["tools"]);
    auto mapped = context_from_body(kRequest, {t.traits.family});
    ASSERT_TRUE(mapped.ok());
    const ojson& messages = (*mapped)["messages"];
    const ToolCallPrefiller prefiller(t.traits, t.source);
    ojson request_context = t.base;
    request_context["messages"] = ojson::array({messages[0]});
    auto lazy = prefiller.lazy_call(request_context, /*parallel=*/true);
    ASSERT_TRUE(lazy.ok());
    if (t.traits.family == TemplateFamily::kLlama3) {
      EXPECT_FALSE(lazy->has_value());
      continue;
    }
    ASSERT_TRUE(lazy->has_value());
    const auto& triggers = (*lazy)->trigger.texts;
    ASSERT_FALSE(triggers.empty());
    const std::string& trigger = triggers.front();
    // A marker may come as its control token too; gpt-oss's "to=functions." is plain text.
    EXPECT_EQ(triggers.size(), t.traits.family == TemplateFamily::kGptOss ? 1u : 2u);
    if (triggers.size() == 2) {
      EXPECT_EQ(triggers[1], grammar::control_token_bytes(trigger));
    }
    std::string turn = rendered_turn(t, f, messages);
    if (const size_t id = turn.find("[CALL_ID]"); id != std::string::npos)
      turn.replace(id + 9, 9, mistral_tool_call_id("prefill-0"));
    const size_t at = turn.find(trigger);
    ASSERT_NE(at, std::string::npos) << trigger << " not in " << turn;
    grammar::Matcher m((*lazy)->grammar);
    EXPECT_TRUE(m.accept(turn.substr(at + trigger.size()))) << turn;
    EXPECT_TRUE(m.can_end()) << turn;
    std::string garbled = turn.substr(at + trigger.size());
    ASSERT_NE(garbled.find("get_weather"), std::string::npos);
    garbled.replace(garbled.find("get_weather"), 11, "get_weathe_");
    grammar::Matcher wrong((*lazy)->grammar);
    EXPECT_FALSE(wrong.accept(garbled)) << "only the offered tools";
    // Qwen3-Coder's call without its wrapper opens at "<function=" and ends at "</function>".
    const auto& openings = (*lazy)->trigger.openings;
    EXPECT_EQ(openings, t.traits.family == TemplateFamily::kQwen3Coder
                            ? std::vector<std::string>{"<function="}
                            : std::vector<std::string>{});
    for (const std::string& opening : openings) {
      const size_t from = turn.find(opening), to = turn.find("</function>");
      ASSERT_NE(to, std::string::npos) << turn;
      grammar::Matcher bare((*lazy)->grammar);
      EXPECT_TRUE(bare.accept(turn.substr(from, to + 11 - from)) && bare.must_end()) << turn;
    }
    // gpt-oss's trigger counts only in a message's header.
    EXPECT_EQ((*lazy)->trigger.quiet_open.empty(), t.traits.family != TemplateFamily::kGptOss);
  }
}

// A tool whose schema the grammar cannot express still gets its calls held to the syntax, its
// name and a JSON object; the others keep their schemas; and the caller is told which and why.
TEST(ToolChoice, AnInexpressibleSchemaFallsBackToAnyObjectForThatToolOnly) {
  ojson request = ojson::parse(R"({"tools": [
      {"name": "grep", "input_schema": {"type": "object", "properties": {"pattern": {"type": "string", "pattern": "^x"}}}},
      {"name": "read_file", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}},
       "required": ["path"], "additionalProperties": false}}],
    "messages": [{"role": "user", "content": "hi"}]})");
  auto context = context_from_body(request);
  ASSERT_TRUE(context.ok());
  const std::string source = read_text(kChatFixtures + "templates/Qwen-Qwen3-0.6B.jinja");
  const ToolCallPrefiller prefiller(detect_template_traits(source), source);
  std::vector<std::string> why;
  auto g = prefiller.call_grammar(ToolChoiceMode::kAny, "", *context, false, &why);
  ASSERT_TRUE(g.ok() && *g);
  ASSERT_EQ(why.size(), 1u);
  EXPECT_NE(why[0].find("\"grep\""), std::string::npos) << why[0];
  EXPECT_NE(why[0].find("pattern"), std::string::npos) << why[0];
  grammar::Matcher any_object(*g);
  EXPECT_TRUE(any_object.accept(R"(grep", "arguments": {"pattern": 42, "more": [true]}})"));
  grammar::Matcher kept(*g);
  EXPECT_FALSE(kept.accept(R"(read_file", "arguments": {"path": 42)")) << "read_file keeps its schema";
}

TEST(ToolChoice, ReasoningLeftOpenIsClosedEmptyBeforeTheCall) {
  // The R1 distill template opens <think> in the generation prompt when thinking is on.
  auto context = context_from_body(kRequest);
  ASSERT_TRUE(context.ok());
  const Loaded t = load("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", (*context)["tools"]);
  ojson request_context = t.base;
  request_context["messages"] = ojson::array({(*context)["messages"][0]});
  request_context["add_generation_prompt"] = true;
  request_context["enable_thinking"] = true;
  auto rendered = jinja::render(t.tmpl, request_context, {});
  ASSERT_TRUE(rendered.ok()) << rendered.error().message;
  ASSERT_TRUE(prompt_opens_reasoning(rendered->text));
  const ToolCallPrefiller prefiller(t.traits, t.source);
  auto prefill = prefiller.prefill(ToolChoiceMode::kTool, "read_file", request_context, rendered->text);
  ASSERT_TRUE(prefill.ok() && prefill->has_value());
  EXPECT_TRUE((*prefill)->text.starts_with("</think>\n\n"));
  const auto options = testing::make_options(nlohmann::json((*context)["tools"]), /*starts_in_reasoning=*/true);
  const std::string continuation = "{\"path\": \"/tmp/x\"}\n```" + std::string("<｜tool▁call▁end｜><｜tool▁calls▁end｜>");
  EXPECT_EQ(testing::describe(testing::run_parser(t.traits, options, {(*prefill)->text, continuation})),
            (std::vector<std::string>{"call:read_file {\"path\":\"/tmp/x\"}"}));
}

TEST(ToolChoice, GraniteCallsAreAJsonList) {
  // Granite's fixture template does not render calls, only asks for <|tool_call|>[...].
  const std::string source = read_text(kChatFixtures + "templates/ibm-granite-granite-3.3-2B-Instruct.jinja");
  const TemplateTraits traits = detect_template_traits(source);
  ASSERT_EQ(traits.family, TemplateFamily::kGranite);
  auto context = context_from_body(kRequest);
  ASSERT_TRUE(context.ok());
  const ToolCallPrefiller prefiller(traits, source);
  auto prefill = prefiller.prefill(ToolChoiceMode::kTool, "read_file", *context, "<|start_of_role|>assistant<|end_of_role|>");
  ASSERT_TRUE(prefill.ok() && prefill->has_value());
  EXPECT_EQ((*prefill)->text, "<|tool_call|>[{\"name\": \"read_file\", \"arguments\": ");
  const auto options = testing::make_options(nlohmann::json((*context)["tools"]));
  EXPECT_EQ(testing::describe(testing::run_parser(traits, options, {(*prefill)->text, "{\"path\": \"a\"}}]"})),
            (std::vector<std::string>{"call:read_file {\"path\":\"a\"}"}));
}

TEST(ToolChoice, FamiliesWithoutCallSyntaxHaveNoPrefill) {
  for (const char* model : {"google-gemma-2-2b-it", "microsoft-Phi-3.5-mini-instruct"}) {
    SCOPED_TRACE(model);
    const std::string source = read_text(kChatFixtures + "templates/" + model + ".jinja");
    const ToolCallPrefiller prefiller(detect_template_traits(source), source);
    EXPECT_FALSE(prefiller.supported());
    auto context = context_from_body(kRequest);
    ASSERT_TRUE(context.ok());
    auto prefill = prefiller.prefill(ToolChoiceMode::kTool, "get_weather", *context, "");
    ASSERT_TRUE(prefill.ok());
    EXPECT_FALSE(prefill->has_value());
  }
}

TEST(ToolChoice, AutoAndNoneNeverPrefillAndUnknownToolsAreRefused) {
  const std::string source = read_text(kChatFixtures + "templates/Qwen-Qwen3-0.6B.jinja");
  const ToolCallPrefiller prefiller(detect_template_traits(source), source);
  auto context = context_from_body(kRequest);
  ASSERT_TRUE(context.ok());
  for (ToolChoiceMode mode : {ToolChoiceMode::kAuto, ToolChoiceMode::kNone}) {
    auto prefill = prefiller.prefill(mode, "", *context, "");
    ASSERT_TRUE(prefill.ok());
    EXPECT_FALSE(prefill->has_value());
  }
  auto unknown = prefiller.prefill(ToolChoiceMode::kTool, "delete_everything", *context, "");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("delete_everything"), std::string::npos);
  ojson no_tools = *context;
  no_tools["tools"] = nullptr;
  EXPECT_FALSE(prefiller.prefill(ToolChoiceMode::kAny, "", no_tools, "").ok());
}

TEST(ToolChoice, NoneRendersNoToolsAndLeavesCallMarkupAsText) {
  ojson request = kRequest;
  request["tool_choice"] = {{"type", "none"}};
  request["messages"] = ojson::array({request["messages"][0]});
  auto context = context_from_body(request, {TemplateFamily::kHermes});
  ASSERT_TRUE(context.ok());
  EXPECT_TRUE((*context)["tools"].is_null());
  const Loaded t = load("Qwen-Qwen3-0.6B", nullptr);
  const std::string prompt = render_with(t, (*context)["messages"], true);
  EXPECT_EQ(prompt.find("<tools>"), std::string::npos) << prompt;
  EXPECT_EQ(prompt.find("get_weather"), std::string::npos) << prompt;

  const std::string written = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>";
  ParserOptions options;
  options.parse_tool_calls = false;
  EXPECT_EQ(testing::describe(testing::run_parser(t.traits, options, {written})),
            (std::vector<std::string>{"text:" + written}));
  options.parse_tool_calls = true;  // the same text is a call otherwise
  EXPECT_EQ(testing::describe(testing::run_parser(t.traits, options, {written})),
            (std::vector<std::string>{"call:get_weather {}"}));

  // gpt-oss keeps its channels; a call's arguments come back as text.
  const TemplateTraits harmony{TemplateFamily::kGptOss, false};
  options.parse_tool_calls = false;
  EXPECT_EQ(testing::describe(testing::run_parser(
                harmony, options,
                {"<|channel|>analysis<|message|>Hmm.<|end|><|start|>assistant to=functions.f<|channel|>commentary "
                 "json<|message|>{\"a\": 1}<|call|>"})),
            (std::vector<std::string>{"reasoning:Hmm.", "text:{\"a\": 1}"}));
}

}  // namespace
}  // namespace pensieve::chat
