// Family detection against the real templates in the fixtures.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/template_family.hpp"

namespace pensieve::chat {
namespace {

std::string read_template(const std::string& name) {
  std::ifstream in(std::string(PENSIEVE_FIXTURES) + "/chat/templates/" + name + ".jinja");
  EXPECT_TRUE(in.good()) << "missing template " << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Expected {
  const char* name;
  TemplateFamily family;
  bool think_tags;
};

TEST(TemplateFamily, EveryFixtureTemplate) {
  const Expected expected[] = {
      {"GLM-4.6", TemplateFamily::kGlm, true},
      {"HuggingFaceTB-SmolLM3-3B", TemplateFamily::kHermes, true},
      {"Kimi-K2-Instruct", TemplateFamily::kKimiK2, false},
      {"Mistral-Small-3.2-24B-Instruct-2506", TemplateFamily::kMistral, false},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", TemplateFamily::kHermes, false},
      {"Qwen-Qwen2.5-7B-Instruct", TemplateFamily::kHermes, false},
      {"Qwen-Qwen3-0.6B", TemplateFamily::kHermes, true},
      {"Qwen3-Coder", TemplateFamily::kQwen3Coder, false},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", TemplateFamily::kDeepSeekR1, true},
      {"google-gemma-2-2b-it", TemplateFamily::kGeneric, false},
      {"ibm-granite-granite-3.3-2B-Instruct", TemplateFamily::kGranite, true},
      {"meta-llama-Llama-3.1-8B-Instruct", TemplateFamily::kLlama3, false},
      {"meta-llama-Llama-3.2-3B-Instruct", TemplateFamily::kLlama3, false},
      {"microsoft-Phi-3.5-mini-instruct", TemplateFamily::kGeneric, false},
      {"mistralai-Mistral-Nemo-Instruct-2407", TemplateFamily::kMistral, false},
      {"openai-gpt-oss-120b", TemplateFamily::kGptOss, false},
      {"unsloth-mistral-Devstral-Small-2507", TemplateFamily::kMistral, false},
  };
  for (const Expected& e : expected) {
    const TemplateTraits traits = detect_template_traits(read_template(e.name));
    EXPECT_EQ(to_string(traits.family), std::string(to_string(e.family))) << e.name;
    EXPECT_EQ(traits.think_tags, e.think_tags) << e.name;
  }
  EXPECT_EQ(detect_template_traits(default_chat_template()).family, TemplateFamily::kGeneric);
}

TEST(TemplateFamily, GenerationPromptsThatOpenReasoning) {
  std::ifstream in(std::string(PENSIEVE_FIXTURES) + "/chat/expected.json");
  const auto expected = nlohmann::json::parse(in)["renders"];
  const auto prompt = [&](const char* model) {
    return expected[model]["cases"]["multi_turn|gen"]["text"].get<std::string>();
  };
  // Rendered without enable_thinking, this template closes the <think> it opens.
  const std::string deepseek = prompt("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B");
  ASSERT_TRUE(deepseek.ends_with("<think>\n</think>"));
  EXPECT_FALSE(prompt_opens_reasoning(deepseek));
  EXPECT_TRUE(prompt_opens_reasoning(deepseek.substr(0, deepseek.size() - 8)));
  EXPECT_FALSE(prompt_opens_reasoning(prompt("Qwen-Qwen3-0.6B")));
  EXPECT_FALSE(prompt_opens_reasoning(prompt("GLM-4.6")));
  EXPECT_FALSE(prompt_opens_reasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
  EXPECT_TRUE(prompt_opens_reasoning("<|im_start|>assistant\n<think>\n"));
}

}  // namespace
}  // namespace pensieve::chat
