// Stream parsers per family: each case is parsed whole, byte by byte and in random chunks, and
// must give the same events every way (parse_every_way checks that) and the expected ones.
#include <algorithm>

#include <gtest/gtest.h>

#include "chat/stream_parser.hpp"
#include "parser_test_support.hpp"

namespace pensieve::chat {
namespace {

using testing::make_options;
using testing::parse_every_way;
using Lines = std::vector<std::string>;

const nlohmann::json kWeatherTools = nlohmann::json::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "description": "Weather.",
   "parameters": {"type": "object", "properties": {"location": {"type": "string"},
     "days": {"type": "integer"}, "code": {"type": "string"}}, "required": ["location"]}}},
  {"type": "function", "function": {"name": "read_file", "parameters": {"type": "object",
     "properties": {"path": {"type": "string"}}}}}])");

TemplateTraits traits(TemplateFamily family, bool think = false) { return {family, think}; }

// ---- Hermes / Qwen ---------------------------------------------------------------------------

TEST(HermesParser, PlainTextPassesThrough) {
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes), make_options(), "Hello, wörld! 日本語 <b>ok</b>"),
            (Lines{"text:Hello, wörld! 日本語 <b>ok</b>"}));
}

TEST(HermesParser, TextThenTwoCalls) {
  const std::string text =
      "Let me check both.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", "
      "\"unit\": \"celsius\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
      "{\"location\": \"Oslo\"}}\n</tool_call>";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes), make_options(), text),
            (Lines{"text:Let me check both.", R"(call:get_weather {"location":"Paris","unit":"celsius"})",
                   R"(call:get_weather {"location":"Oslo"})"}));
}

// Whatever JSON allows inside argument strings — escaped quotes and backslashes, braces, escapes
// of every kind, markup — stays inside the string: constrained decoding writes all of it.
TEST(HermesParser, ArgumentStringsMayHoldAnythingJsonAllows) {
  const std::string text =
      "<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"a\\\\\", \"x\": "
      "\"\\\"}\\\\\\\"}\", "
      "\"y\": \"\\u0022}\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\", \"z\": "
      "\"</tool_call><tool_call>{\"}}\n</tool_call>";
  const Lines got = parse_every_way(traits(TemplateFamily::kHermes), make_options(), text);
  ASSERT_EQ(got.size(), 1u) << ::testing::PrintToString(got);
  EXPECT_EQ(got[0].rfind("call:read_file {", 0), 0u) << got[0];
  const auto args = nlohmann::json::parse(got[0].substr(std::string("call:read_file ").size()));
  EXPECT_EQ(args["path"], "a\\");
  EXPECT_EQ(args["x"], "\"}\\\"}");
  EXPECT_EQ(args["z"], "</tool_call><tool_call>{");
}

TEST(HermesParser, ArgumentsStreamAsTheyArrive) {
  auto parser = make_stream_parser(traits(TemplateFamily::kHermes), make_options());
  std::vector<ChatEvent> events;
  parser->feed("<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"/etc/ho", events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, ChatEventKind::kToolCallStart);
  EXPECT_EQ(events[0].name, "read_file");
  EXPECT_EQ(events[1].kind, ChatEventKind::kToolCallArguments);
  EXPECT_EQ(events[1].text, "{\"path\": \"/etc/ho");
  events.clear();
  parser->feed("stname\"}}\n</tool_call>", events);
  parser->finish(events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].text, "stname\"}");
  EXPECT_EQ(events[1].kind, ChatEventKind::kToolCallEnd);
  EXPECT_TRUE(events[1].complete);
}

TEST(HermesParser, LookalikesAreReleasedAsText) {
  const auto options = make_options();
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes), options, "Use <tool> or <tool_cal and <tool_call"),
            (Lines{"text:Use <tool> or <tool_cal and <tool_call"}));
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes), options, "<tool_call>not json</tool_call> ok"),
            (Lines{"text:<tool_call>not json</tool_call> ok"}));
  // A marker inside a failed call is looked at again.
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes), options,
                            "<tool_call>x<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>"),
            (Lines{"text:<tool_call>x", "call:f {}"}));
}

TEST(HermesParser, TextWaitsOnlyWhileItCouldBeAMarker) {
  auto parser = make_stream_parser(traits(TemplateFamily::kHermes), make_options());
  std::vector<ChatEvent> events;
  parser->feed("See <tool_", events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "See");  // the blank waits too: it would be dropped before a call
  parser->feed("box>", events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "See <tool_box>");
}

TEST(HermesParser, CallCutOffBeforeArgumentsIsText) {
  const std::string text = "Sure. <tool_call>\n{\"name\": \"get_we";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes), make_options(), text), (Lines{"text:" + text}));
}

TEST(HermesParser, CallCutOffInsideArgumentsIsIncomplete) {
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes), make_options(),
                            "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": [1, 2"),
            (Lines{"call:f {\"a\": [1, 2 (incomplete)"}));
}

TEST(HermesParser, MalformedArgumentsEndTheCallAndRestIsText) {
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes), make_options(),
                            "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": ]}</tool_call>"),
            (Lines{"call:f {\"a\":  (incomplete)", "text:]}</tool_call>"}));
}

TEST(HermesParser, NameAfterArgumentsAndStringifiedArguments) {
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes), make_options(),
                            "<tool_call>{\"arguments\": {\"a\": \"x\"}, \"name\": \"f\"}</tool_call>"
                            "<tool_call>{\"name\": \"g\", \"arguments\": \"{\\\"b\\\": 2}\"}</tool_call>"
                            "<tool_call>{\"name\": \"h\"}</tool_call>"),
            (Lines{R"(call:f {"a":"x"})", R"(call:g {"b":2})", "call:h {}"}));
}

TEST(HermesParser, TextAfterACallIsKept) {
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes), make_options(),
                            "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>\nDone."),
            (Lines{"call:f {}", "text:\nDone."}));
}

TEST(HermesParser, Qwen3ReasoningThenCall) {
  const std::string text =
      "<think>\nThe user wants weather.\nCall the tool.\n</think>\n\n<tool_call>\n{\"name\": "
      "\"get_weather\", \"arguments\": {\"location\": \"東京\"}}\n</tool_call>";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes, true), make_options(), text),
            (Lines{"reasoning:The user wants weather.\nCall the tool.", R"(call:get_weather {"location":"東京"})"}));
}

TEST(HermesParser, ReasoningOnlyAtTheStart) {
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes, true), make_options(), "A <think>b</think> c"),
            (Lines{"text:A <think>b</think> c"}));
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes, true), make_options(), "<think>\n\n</think>\n\nHi"),
            (Lines{"text:Hi"}));
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes, true), make_options(), "<thin"),
            (Lines{"text:<thin"}));
}

TEST(HermesParser, ReasoningCutOffStaysReasoning) {
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kHermes, true), make_options(), "<think>Hmm, 91 = 7 × 1"),
            (Lines{"reasoning:Hmm, 91 = 7 × 1"}));
}

// ---- Qwen3-Coder -----------------------------------------------------------------------------

TEST(Qwen3CoderParser, TemplateFormWithTypedParameters) {
  const std::string text =
      "I'll look.\n<tool_call>\n<function=get_weather>\n<parameter=location>\nParis\n</parameter>\n"
      "<parameter=days>\n3\n</parameter>\n<parameter=code>\n42\n</parameter>\n</function>\n</tool_call>";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kQwen3Coder), make_options(kWeatherTools), text),
            (Lines{"text:I'll look.", R"(call:get_weather {"code":"42","days":3,"location":"Paris"})"}));
  // Without schemas, text that reads as JSON is taken as JSON.
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kQwen3Coder), make_options(), text),
            (Lines{"text:I'll look.", R"(call:get_weather {"code":42,"days":3,"location":"Paris"})"}));
}

TEST(Qwen3CoderParser, MultilineValuesObjectsAndBareFunction) {
  const std::string text =
      "<function=write_file>\n<parameter=path>\n/tmp/a.py\n</parameter>\n<parameter=content>\ndef f():\n"
      "    return \"</param\"\n\n</parameter>\n<parameter=options>\n{\"mode\": [1, 2]}\n</parameter>\n"
      "</function>\n<tool_call>\n<function=list>\n</function>\n</tool_call>";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kQwen3Coder), make_options(), text),
            (Lines{R"(call:write_file {"content":"def f():\n    return \"</param\"\n","options":{"mode":[1,2]},"path":"/tmp/a.py"})",
                   "call:list {}"}));
}

TEST(Qwen3CoderParser, LookalikeAndCutOff) {
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kQwen3Coder), make_options(), "The <function> tag <tool_call>x"),
            (Lines{"text:The <function> tag <tool_call>x"}));
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kQwen3Coder), make_options(), "Write <function=name> then more."),
            (Lines{"text:Write <function=name> then more."}));
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kQwen3Coder), make_options(),
                            "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n<parameter=b>\nhal"),
            (Lines{R"(call:f {"a": 1 (incomplete))"}));
}

// ---- Llama 3 ---------------------------------------------------------------------------------

TEST(Llama3Parser, WholeAnswerJsonIsACallOnlyForOfferedTools) {
  const std::string call = "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kLlama3), make_options(kWeatherTools), call),
            (Lines{R"(call:get_weather {"location":"Paris"})"}));
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kLlama3), make_options(), call), (Lines{"text:" + call}));
  const std::string data = "{\"name\": \"Bob\", \"parameters\": {\"age\": 3}}";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kLlama3), make_options(kWeatherTools), data),
            (Lines{"text:" + data}));
  const std::string no_arguments = "{\"name\": \"get_weather\"} is the tool";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kLlama3), make_options(kWeatherTools), no_arguments),
            (Lines{"text:" + no_arguments}));
}

TEST(Llama3Parser, PythonTagAndPlainText) {
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kLlama3), make_options(kWeatherTools),
                            "<|python_tag|>{\"name\": \"read_file\", \"parameters\": {\"path\": \"/x\"}}"),
            (Lines{R"(call:read_file {"path":"/x"})"}));
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kLlama3), make_options(kWeatherTools), "  It is {sunny}."),
            (Lines{"text:  It is {sunny}."}));
}

// ---- Mistral ---------------------------------------------------------------------------------

TEST(MistralParser, AllThreeForms) {
  const auto t = traits(TemplateFamily::kMistral);
  EXPECT_EQ(parse_every_way(t, make_options(),
                            "Checking.[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{\"location\": \"Paris\"}"
                            "[TOOL_CALLS]get_weather[CALL_ID]z9y8x7w6v[ARGS]{\"location\": \"Oslo\"}"),
            (Lines{"text:Checking.", R"(call:get_weather {"location":"Paris"})",
                   R"(call:get_weather {"location":"Oslo"})"}));
  EXPECT_EQ(parse_every_way(t, make_options(), "[TOOL_CALLS]read_file[ARGS]{\"path\": \"/etc/hostname\"}"),
            (Lines{R"(call:read_file {"path":"/etc/hostname"})"}));
  EXPECT_EQ(parse_every_way(t, make_options(),
                            "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}, "
                            "\"id\": \"a1b2c3d4e\"}, {\"name\": \"read_file\", \"arguments\": {\"path\": \"/x\"}, "
                            "\"id\": \"z9y8x7w6v\"}]"),
            (Lines{R"(call:get_weather {"location":"Paris"})", R"(call:read_file {"path":"/x"})"}));
}

TEST(MistralParser, NotACall) {
  const auto t = traits(TemplateFamily::kMistral);
  EXPECT_EQ(parse_every_way(t, make_options(), "[TOOL_CALLS] hello there"), (Lines{"text:[TOOL_CALLS] hello there"}));
  EXPECT_EQ(parse_every_way(t, make_options(), "[TOOL_CALL] [TOOL_CALLS]f[ARG"), (Lines{"text:[TOOL_CALL] [TOOL_CALLS]f[ARG"}));
}

// ---- DeepSeek-R1 -----------------------------------------------------------------------------

TEST(DeepSeekR1Parser, ReasoningFromThePromptThenCalls) {
  const std::string text =
      "The user wants weather.\n</think>\n\nI'll check."
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
      "{\"location\": \"Paris\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>"
      "get_weather\n```json\n{\"location\": \"Oslo\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kDeepSeekR1, true), make_options(nullptr, true), text),
            (Lines{"reasoning:The user wants weather.", "text:I'll check.", R"(call:get_weather {"location":"Paris"})",
                   R"(call:get_weather {"location":"Oslo"})"}));
}

TEST(DeepSeekR1Parser, UnfencedFormAndLookalike) {
  const auto t = traits(TemplateFamily::kDeepSeekR1, true);
  EXPECT_EQ(parse_every_way(t, make_options(),
                            "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>read_file<｜tool▁sep｜>{\"path\": \"/x\"}"
                            "<｜tool▁call▁end｜><｜tool▁calls▁end｜>"),
            (Lines{R"(call:read_file {"path":"/x"})"}));
  EXPECT_EQ(parse_every_way(t, make_options(), "<｜tool▁call▁begin｜>oops"), (Lines{"text:<｜tool▁call▁begin｜>oops"}));
}

// ---- GLM -------------------------------------------------------------------------------------

TEST(GlmParser, ReasoningTextAndCalls) {
  const std::string text =
      "\n<think>Need the weather.</think>\nLet me look.\n<tool_call>get_weather\n<arg_key>location</arg_key>\n"
      "<arg_value>Paris</arg_value>\n<arg_key>days</arg_key>\n<arg_value>2</arg_value>\n</tool_call>\n"
      "<tool_call>read_file\n<arg_key>path</arg_key>\n<arg_value>/etc/hostname</arg_value>\n</tool_call>";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kGlm, true), make_options(kWeatherTools), text),
            (Lines{"reasoning:Need the weather.", "text:Let me look.", R"(call:get_weather {"days":2,"location":"Paris"})",
                   R"(call:read_file {"path":"/etc/hostname"})"}));
}

TEST(GlmParser, CallWithoutArgumentsAndNotACall) {
  const auto t = traits(TemplateFamily::kGlm, true);
  EXPECT_EQ(parse_every_way(t, make_options(), "<tool_call>now</tool_call>"), (Lines{"call:now {}"}));
  EXPECT_EQ(parse_every_way(t, make_options(), "<tool_call>two words\n</tool_call>"),
            (Lines{"text:<tool_call>two words\n</tool_call>"}));
}

// ---- Kimi-K2 ---------------------------------------------------------------------------------

TEST(KimiK2Parser, SectionWithTwoCalls) {
  const std::string text =
      "Checking.<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
      "<|tool_call_argument_begin|>{\"location\": \"Paris\"}<|tool_call_end|><|tool_call_begin|>"
      "functions.read_file:1<|tool_call_argument_begin|>{\"path\": \"/x\"}<|tool_call_end|>"
      "<|tool_calls_section_end|>";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kKimiK2), make_options(), text),
            (Lines{"text:Checking.", R"(call:get_weather {"location":"Paris"})", R"(call:read_file {"path":"/x"})"}));
}

// ---- Granite ---------------------------------------------------------------------------------

TEST(GraniteParser, CallsAndThinkingSections) {
  const auto t = traits(TemplateFamily::kGranite, true);
  EXPECT_EQ(parse_every_way(t, make_options(),
                            "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}, "
                            "{\"name\": \"read_file\", \"arguments\": {\"path\": \"/x\"}}]"),
            (Lines{R"(call:get_weather {"location":"Paris"})", R"(call:read_file {"path":"/x"})"}));
  EXPECT_EQ(parse_every_way(t, make_options(), "<think>Think.</think><response>Answer.</response>"),
            (Lines{"reasoning:Think.", "text:Answer."}));
}

// ---- gpt-oss ---------------------------------------------------------------------------------

TEST(GptOssParser, AnalysisThenToolCall) {
  const std::string text =
      "<|channel|>analysis<|message|>Need weather for Paris.<|end|><|start|>assistant<|channel|>commentary "
      "to=functions.get_weather <|constrain|>json<|message|>{\"location\":\"Paris\"}<|call|>";
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kGptOss), make_options(), text),
            (Lines{"reasoning:Need weather for Paris.", R"(call:get_weather {"location":"Paris"})"}));
}

TEST(GptOssParser, RecipientBeforeChannelAndFinalAnswer) {
  const auto t = traits(TemplateFamily::kGptOss);
  EXPECT_EQ(parse_every_way(t, make_options(),
                            " to=functions.read_file<|channel|>commentary json<|message|>{\"path\": \"/x\"}<|call|>"),
            (Lines{R"(call:read_file {"path":"/x"})"}));
  EXPECT_EQ(parse_every_way(t, make_options(),
                            "<|channel|>analysis<|message|>Easy.<|end|><|start|>assistant<|channel|>final"
                            "<|message|>Hello <|!|> there.<|return|>"),
            (Lines{"reasoning:Easy.", "text:Hello <|!|> there."}));
}

TEST(GptOssParser, NoHeaderIsText) {
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kGptOss), make_options(), "Plain answer."),
            (Lines{"text:Plain answer."}));
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kGptOss), make_options(), "<|channel|>analys"),
            (Lines{"text:<|channel|>analys"}));
}

// ---- Generic ---------------------------------------------------------------------------------

TEST(GenericParser, EverythingIsText) {
  EXPECT_EQ(parse_every_way(traits(TemplateFamily::kGeneric), make_options(), "<tool_call>{}</tool_call>"),
            (Lines{"text:<tool_call>{}</tool_call>"}));
}

}  // namespace
}  // namespace pensieve::chat

namespace pensieve::chat {
namespace {

// Random texts stitched from each family's markers, pieces of them and JSON fragments: however
// they are cut, the events must be the same, and with no call found nothing may be lost.
TEST(StreamParsers, RandomMarkerSoupIsChunkInvariant) {
  const std::vector<std::string> fragments = {
      "<tool_call>", "</tool_call>", "<tool_", "{\"name\": \"f\", ", "\"arguments\": ", "{\"a\": 1}", "}", "{",
      "\"x\"", " ", "\n", "text", "日本", "<think>", "</think>", "<function=g>", "<parameter=p>", "v",
      "</parameter>", "</function>", "[TOOL_CALLS]", "f[ARGS]", "[CALL_ID]abc", "<|channel|>", "analysis",
      "<|message|>", "<|end|>", "<|start|>assistant", " to=functions.f", "<|call|>", "<arg_key>", "k</arg_key>",
      "<arg_value>", "1</arg_value>", "<|tool_call_begin|>", "functions.f:0", "<|tool_call_argument_begin|>",
      "<|tool_call_end|>", "<|tool_call|>", "[", "]", ",", "<|python_tag|>",
      "<｜tool▁call▁begin｜>", "function<｜tool▁sep｜>f\n```json\n", "```", "<｜tool▁call▁end｜>"};
  const TemplateFamily families[] = {TemplateFamily::kGeneric, TemplateFamily::kHermes, TemplateFamily::kQwen3Coder,
                                     TemplateFamily::kLlama3, TemplateFamily::kMistral, TemplateFamily::kGptOss,
                                     TemplateFamily::kDeepSeekR1, TemplateFamily::kGlm, TemplateFamily::kKimiK2,
                                     TemplateFamily::kGranite};
  const auto tools = nlohmann::json::parse(R"([{"type": "function", "function": {"name": "f"}}])");
  std::mt19937 engine(2026);
  for (int round = 0; round < 150; ++round) {
    std::uniform_int_distribution<size_t> pick(0, fragments.size() - 1);
    std::uniform_int_distribution<int> length(1, 24);
    std::string text;
    for (int i = length(engine); i > 0; --i) text += fragments[pick(engine)];
    for (TemplateFamily family : families) {
      for (bool think : {false, true}) {
        const auto lines = parse_every_way({family, think}, make_options(tools), text);
        // Families without silently dropped markers give back every byte when they find no call.
        const bool keeps_all = family == TemplateFamily::kGeneric || family == TemplateFamily::kHermes ||
                               family == TemplateFamily::kQwen3Coder || family == TemplateFamily::kLlama3 ||
                               family == TemplateFamily::kMistral || family == TemplateFamily::kGlm;
        const bool any_call = std::any_of(lines.begin(), lines.end(),
                                          [](const std::string& line) { return line.starts_with("call:"); });
        if (keeps_all && !think && !any_call) {
          EXPECT_EQ(lines, (Lines{"text:" + text}));
        }
      }
    }
  }
}

}  // namespace
}  // namespace pensieve::chat
