// Round trip through the reference renderings: the assistant turn with tool calls that Jinja2
// rendered for each template (expected.json, conversation "tool_roundtrip") is fed to that
// family's parser as if the model had written it, and must give back the calls it was rendered
// from.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/template_family.hpp"
#include "chat_fixtures.hpp"
#include "parser_test_support.hpp"

namespace pensieve::chat {
namespace {

using nlohmann::json;
using Lines = std::vector<std::string>;

struct Turn {
  const char* model;
  const char* after;   // the assistant turn starts after the first occurrence of this…
  const char* before;  // …that follows the user's question, and ends before this
  size_t calls;        // how many of the conversation's calls the template renders
};

using testing::read_text;

TEST(RoundTripFixtures, RenderedToolCallsParseBack) {
  const json expected = json::parse(read_text(testing::kChatFixtures + "expected.json"))["renders"];
  const json conversation = json::parse(read_text(testing::kChatFixtures + "conversations.json"))["conversations"]["tool_roundtrip"];
  const json& calls = conversation["messages"][1]["tool_calls"];
  const std::string question = conversation["messages"][0]["content"];

  const Turn turns[] = {
      {"Qwen-Qwen2.5-7B-Instruct", "<|im_start|>assistant\n", "<|im_end|>", 2},
      {"Qwen-Qwen3-0.6B", "<|im_start|>assistant\n", "<|im_end|>", 2},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "<|im_start|>assistant\n", "<|im_end|>", 2},
      {"Qwen3-Coder", "<|im_start|>assistant", "<|im_end|>", 2},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "<｜Assistant｜>", "<｜end▁of▁sentence｜>", 2},
      {"openai-gpt-oss-120b", "<|start|>assistant", "<|start|>functions", 1},
      {"unsloth-mistral-Devstral-Small-2507", "[/INST]", "</s>", 2},
      {"GLM-4.6", "<|assistant|>", "<|observation|>", 2},
  };
  for (const Turn& turn : turns) {
    SCOPED_TRACE(turn.model);
    const std::string text = expected[turn.model]["cases"]["tool_roundtrip|nogen"]["text"];
    const size_t asked = text.find(question);
    ASSERT_NE(asked, std::string::npos);
    const size_t start = text.find(turn.after, asked);
    ASSERT_NE(start, std::string::npos);
    const size_t begin = start + std::string_view(turn.after).size();
    const size_t end = text.find(turn.before, begin);
    ASSERT_NE(end, std::string::npos);
    const std::string assistant = text.substr(begin, end - begin);

    const TemplateTraits traits = detect_template_traits(read_text(testing::kChatFixtures + "templates/" + turn.model + ".jinja"));
    Lines want;
    for (size_t i = 0; i < turn.calls; ++i) {
      want.push_back("call:" + calls[i]["function"]["name"].get<std::string>() + " " +
                     calls[i]["function"]["arguments"].dump());
    }
    EXPECT_EQ(testing::parse_every_way(traits, testing::make_options(conversation["tools"]), assistant), want)
        << "assistant turn: " << assistant;
  }
}

}  // namespace
}  // namespace pensieve::chat
