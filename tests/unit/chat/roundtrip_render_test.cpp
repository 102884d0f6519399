// The whole round trip, per family: an Anthropic request whose assistant turn holds tool calls is
// mapped to a template context, rendered by our Jinja interpreter with the model's real
// template, and the assistant turn of the rendered text is fed back through the family's stream
// parser (whole, byte by byte and in random chunks): the same calls must come out.
// Granite's and SmolLM3's fixture templates do not render tool calls at all, so their syntax is
// covered by the hand-written cases in stream_parser_test.cpp only.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "chat/anthropic_mapping.hpp"
#include "chat/template_family.hpp"
#include "chat_fixtures.hpp"
#include "jinja/template.hpp"
#include "parser_test_support.hpp"
#include "support/conversation_from_body.hpp"

namespace pensieve::chat {
namespace {

using pensieve::testing::context_from_body;

using ojson = nlohmann::ordered_json;
using Lines = std::vector<std::string>;

using testing::read_text;
using testing::kTurnEnds;

const ojson kRequest = testing::request_with_two_tools(R"([
    {"role": "user", "content": "Weather in Tokyo for 3 days, and show me /tmp/a b.txt"},
    {"role": "assistant", "content": [
      {"type": "tool_use", "id": "toolu_01AbCdEf", "name": "get_weather", "input": {"location": "東京", "days": 3}},
      {"type": "tool_use", "id": "toolu_02GhIjKl", "name": "read_file", "input": {"path": "/tmp/a b.txt"}}]}])");

struct Case {
  const char* model;
  const char* turn_start;  // what the template writes before the assistant's own text
  size_t calls;            // the template renders only this many calls of a turn
  bool text = false;       // the template renders the turn's text before its calls
  bool reasoning = false;  // …and its reasoning, as <think>
};

Result<std::string> render_messages(const jinja::Template& tmpl, const ojson& base, const ojson& messages) {
  ojson context = base;
  context["messages"] = messages;
  jinja::RenderOptions options;
  options.trusted_variables = {"bos_token", "eos_token"};
  options.clock = [] { return std::time_t{1795343400}; };  // 2026-11-22 10:30 UTC, as the fixtures
  options.utc = true;
  auto rendered = jinja::render(tmpl, context, options);
  if (!rendered.ok()) return rendered.error();
  return rendered->text;
}

TEST(RoundTripRender, EveryFamilyGetsItsCallsBack) {
  const ojson expected = ojson::parse(read_text(testing::kChatFixtures + "expected.json"))["renders"];
  const Case cases[] = {
      {"Qwen-Qwen2.5-7B-Instruct", "<|im_start|>assistant\n", 2},
      {"Qwen-Qwen2.5-7B-Instruct", "<|im_start|>assistant\n", 2, true},
      {"Qwen-Qwen3-0.6B", "<|im_start|>assistant\n", 2},
      {"Qwen-Qwen3-0.6B", "<|im_start|>assistant\n", 2, true, true},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "<|im_start|>assistant\n", 2},
      {"Qwen3-Coder", "<|im_start|>assistant\n", 2},
      {"Qwen3-Coder", "<|im_start|>assistant\n", 2, true},
      {"meta-llama-Llama-3.1-8B-Instruct", "<|start_header_id|>assistant<|end_header_id|>\n\n", 1},
      {"meta-llama-Llama-3.2-3B-Instruct", "<|start_header_id|>assistant<|end_header_id|>\n\n", 1},
      {"mistralai-Mistral-Nemo-Instruct-2407", "", 2},
      {"Mistral-Small-3.2-24B-Instruct-2506", "", 2},
      {"unsloth-mistral-Devstral-Small-2507", "", 2},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "<｜Assistant｜>", 2},
      {"openai-gpt-oss-120b", "<|start|>assistant", 1},
      {"GLM-4.6", "<|assistant|>", 2},
      {"GLM-4.6", "<|assistant|>", 2, true, true},
      {"Kimi-K2-Instruct", "<|im_assistant|>assistant<|im_middle|>", 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.model) + (c.text ? " with text" : "") + (c.reasoning ? " and reasoning" : ""));
    std::string source = read_text(testing::kChatFixtures + "templates/" + c.model + ".jinja");
    if (std::string_view(c.model) == "Kimi-K2-Instruct") {
      // Its template queues call ids with list.append, which the sandbox (like Hugging Face's)
      // refuses. The queue only names later tool results, which this turn does not reach.
      const std::string append = "tool_response_queue.ids.append(formatted_id)";
      const size_t at = source.find(append);
      ASSERT_NE(at, std::string::npos);
      source.replace(at, append.size(), "none");
    }
    const TemplateTraits traits = detect_template_traits(source);
    ojson request = kRequest;
    auto& calls = request["messages"][1]["content"];
    while (calls.size() > c.calls) calls.erase(calls.size() - 1);
    Lines want;
    for (const auto& call : calls) {
      want.push_back("call:" + call["name"].get<std::string>() + " " + nlohmann::json(call["input"]).dump());
    }
    if (c.text) {
      calls.insert(calls.begin(), ojson{{"type", "text"}, {"text", "Let me check both."}});
      want.insert(want.begin(), "text:Let me check both.");
    }
    if (c.reasoning) {
      calls.insert(calls.begin(), ojson{{"type", "thinking"}, {"thinking", "Two tools are needed."}});
      want.insert(want.begin(), "reasoning:Two tools are needed.");
    }
    auto context = context_from_body(request, {traits.family});
    ASSERT_TRUE(context.ok()) << context.error().message;
    ojson base = expected[c.model]["context"];
    base["tools"] = context.value()["tools"];
    base["add_generation_prompt"] = false;

    auto tmpl = jinja::Template::parse(source);
    ASSERT_TRUE(tmpl.ok()) << tmpl.error().message;
    const ojson& messages = context.value()["messages"];
    auto question = render_messages(tmpl.value(), base, ojson::array({messages[0]}));
    auto full = render_messages(tmpl.value(), base, messages);
    ASSERT_TRUE(question.ok()) << question.error().message;
    ASSERT_TRUE(full.ok()) << full.error().message;
    ASSERT_TRUE(full.value().starts_with(question.value())) << full.value();

    std::string_view turn = std::string_view(full.value()).substr(question.value().size());
    const size_t start = turn.find(c.turn_start);
    ASSERT_NE(start, std::string_view::npos) << turn;
    turn.remove_prefix(start + std::string_view(c.turn_start).size());
    size_t end = turn.size();
    for (std::string_view mark : kTurnEnds) end = std::min(end, turn.find(mark));
    turn = turn.substr(0, end);

    if (std::getenv("SHOW_TURNS")) std::cerr << c.model << ": [" << turn << "]\n";
    EXPECT_EQ(testing::parse_every_way(traits, testing::make_options(nlohmann::json(base["tools"])), turn), want)
        << "assistant turn: " << turn;
  }
}

}  // namespace
}  // namespace pensieve::chat
