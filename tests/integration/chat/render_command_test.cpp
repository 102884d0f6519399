// `pensieve render` against fixture models: the template, BOS and EOS come from the GGUF, the
// conversation from a JSON file, and the printed prompt equals the library's rendering.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "chat/model_template.hpp"
#include "gguf/reader.hpp"
#include "jinja/template.hpp"

namespace pensieve::chat {
namespace {

const std::string kModels = std::string(PENSIEVE_FIXTURES) + "/models/";
const std::string kBinary = std::string(PENSIEVE_BINARY_DIR) + "/src/cli/pensieve";

struct CommandResult {
  int exit_code = -1;
  std::string out;
};

CommandResult run(const std::string& args) {
  CommandResult result;
  FILE* pipe = popen((kBinary + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.out.append(buf.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string write_temp(const std::string& name, const std::string& content) {
  const auto path =
      std::filesystem::temp_directory_path() / ("pensieve_render_" + std::to_string(getpid()) + "_" + name);
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

std::string conversation_file(const std::string& name) {
  std::ifstream in(std::string(PENSIEVE_FIXTURES) + "/chat/conversations.json");
  const auto all = nlohmann::ordered_json::parse(in);
  return write_temp(name + ".json", all.at("conversations").at(name).dump());
}

TEST(ModelChatTemplate, ReadsTemplateAndSpecialTokenTextsFromTheVocabulary) {
  auto model = gguf::File::open(kModels + "qwen2-q8_0.gguf");
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto chat = read_model_chat_template(model->contents());
  ASSERT_TRUE(chat.ok()) << chat.error().message;
  ASSERT_TRUE(chat->source.has_value());
  EXPECT_NE(chat->source->find("<|im_start|>"), std::string::npos);
  EXPECT_EQ(chat->eos_token, "<|im_end|>");

  auto plain = gguf::File::open(kModels + "llama-q8_0.gguf");
  ASSERT_TRUE(plain.ok());
  auto none = read_model_chat_template(plain->contents());
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->source.has_value());
}

TEST(RenderCommand, PrintsTheModelTemplatesRendering) {
  const std::string model_path = kModels + "qwen2-q8_0.gguf";
  const std::string conversation = conversation_file("tool_roundtrip");
  auto model = gguf::File::open(model_path);
  ASSERT_TRUE(model.ok());
  auto chat = read_model_chat_template(model->contents());
  ASSERT_TRUE(chat.ok() && chat->source);
  auto tmpl = jinja::Template::parse(*chat->source);
  ASSERT_TRUE(tmpl.ok());

  std::ifstream in(conversation);
  const auto conv = nlohmann::ordered_json::parse(in);
  for (bool generation_prompt : {true, false}) {
    nlohmann::ordered_json context = {{"bos_token", chat->bos_token}, {"eos_token", chat->eos_token}};
    context["messages"] = conv.at("messages");
    context["tools"] = conv.at("tools");
    context["add_generation_prompt"] = generation_prompt;
    auto expected = jinja::render(*tmpl, context, jinja::RenderOptions{});
    ASSERT_TRUE(expected.ok()) << expected.error().message;

    const CommandResult got = run("render " + model_path + " " + conversation +
                                  (generation_prompt ? "" : " --no-generation-prompt"));
    EXPECT_EQ(got.exit_code, 0) << got.out;
    EXPECT_EQ(got.out, expected->text);
  }
}

TEST(RenderCommand, TemplateFileAndSetOverrideVariables) {
  const std::string tmpl = write_temp(
      "t.jinja", "{{ bos_token }}|{{ n + 1 }}|{{ s }}|{{ messages|length }}|{{ add_generation_prompt }}");
  const CommandResult got = run("render - " + conversation_file("multi_turn") + " --template " + tmpl +
                                " --set bos_token=B --set n=41 --set 's=a b'");
  EXPECT_EQ(got.exit_code, 0) << got.out;
  EXPECT_EQ(got.out, "B|42|a b|4|True");
}

TEST(RenderCommand, FailsClearly) {
  const std::string conversation = conversation_file("user_only");
  CommandResult got = run("render " + kModels + "llama-q8_0.gguf " + conversation);
  EXPECT_NE(got.exit_code, 0);
  EXPECT_NE(got.out.find("no tokenizer.chat_template"), std::string::npos) << got.out;

  const std::string raising = write_temp("raise.jinja", "ok\n{{ raise_exception('no system role') }}");
  got = run("render - " + conversation + " --template " + raising);
  EXPECT_NE(got.exit_code, 0);
  EXPECT_NE(got.out.find("line 2"), std::string::npos) << got.out;
  EXPECT_NE(got.out.find("no system role"), std::string::npos) << got.out;

  got = run("render - " + write_temp("bad.json", "[1]") + " --template " + raising);
  EXPECT_NE(got.exit_code, 0);
  EXPECT_NE(got.out.find("messages"), std::string::npos) << got.out;
}

}  // namespace
}  // namespace pensieve::chat
