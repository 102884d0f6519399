// Every chat template in the shared fixtures, rendered for every fixture conversation with and
// without the generation prompt, must equal the output of Hugging Face's Jinja2 renderer
// (expected.json) byte for byte, or fail where that renderer failed. One test per template.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "jinja/template.hpp"

namespace pensieve::chat {
namespace {

const std::filesystem::path kChatFixtures = std::filesystem::path(PENSIEVE_FIXTURES) / "chat";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::ordered_json load_json(const std::string& name) {
  return nlohmann::ordered_json::parse(read_file(kChatFixtures / name));
}

std::vector<std::string> template_names() {
  std::vector<std::string> names;
  const nlohmann::ordered_json expected = load_json("expected.json");
  for (const auto& [name, entry] : expected.at("renders").items()) names.push_back(name);
  return names;
}

// The instant expected.json was rendered at: 2026-11-22 10:30 UTC.
std::time_t fixture_clock() {
  std::tm t{};
  t.tm_year = 2026 - 1900;
  t.tm_mon = 10;
  t.tm_mday = 22;
  t.tm_hour = 10;
  t.tm_min = 30;
  return timegm(&t);
}

class TemplateFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(TemplateFixture, RendersEveryConversationLikeJinja2) {
  const std::string& name = GetParam();
  const nlohmann::ordered_json expected = load_json("expected.json").at("renders").at(name);
  const nlohmann::ordered_json conversations = load_json("conversations.json").at("conversations");

  auto parsed = jinja::Template::parse(read_file(kChatFixtures / "templates" / (name + ".jinja")));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;

  jinja::RenderOptions options;
  options.clock = fixture_clock;
  options.utc = true;
  for (const auto& [variable, value] : expected.at("context").items())
    options.trusted_variables.push_back(variable);

  std::size_t checked = 0;
  for (const auto& [case_name, outcome] : expected.at("cases").items()) {
    const std::string conversation_name = case_name.substr(0, case_name.find('|'));
    const bool generation_prompt = case_name.substr(case_name.find('|') + 1) == "gen";
    const nlohmann::ordered_json& conversation = conversations.at(conversation_name);

    nlohmann::ordered_json context = expected.at("context");
    context["messages"] = conversation.at("messages");
    context["tools"] =
        conversation.contains("tools") ? conversation.at("tools") : nlohmann::ordered_json(nullptr);
    context["add_generation_prompt"] = generation_prompt;

    auto rendered = jinja::render(*parsed, context, options);
    if (outcome.contains("error")) {
      EXPECT_FALSE(rendered.ok()) << case_name << ": Jinja2 failed with \""
                                  << outcome.at("error").get<std::string>() << "\" but we rendered:\n"
                                  << rendered->text;
    } else {
      ASSERT_TRUE(rendered.ok()) << case_name << ": " << rendered.error().message;
      EXPECT_EQ(rendered->text, outcome.at("text").get<std::string>()) << case_name;
    }
    ++checked;
  }
  // Seven conversations, each with and without the generation prompt.
  EXPECT_EQ(checked, 2 * conversations.size());
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string out;
  for (char c : info.param) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

INSTANTIATE_TEST_SUITE_P(ChatTemplates, TemplateFixture, ::testing::ValuesIn(template_names()), test_name);

TEST(TemplateFixtures, EveryTemplateFileHasExpectations) {
  const nlohmann::ordered_json renders = load_json("expected.json").at("renders");
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kChatFixtures / "templates")) {
    if (entry.path().extension() != ".jinja") continue;
    ++files;
    EXPECT_TRUE(renders.contains(entry.path().stem().string())) << entry.path();
  }
  EXPECT_EQ(files, renders.size());
}

}  // namespace
}  // namespace pensieve::chat
