// tool_choice through the real Frontend of the fixture models (their GGUF tokenizers and chat
// templates) and the Messages service, with a backend that "generates" a scripted continuation:
// a forced call is prefilled into the prompt and comes back as tool_use; "none" offers no tools
// and keeps call markup as text; disable_parallel_tool_use stops after the first call.
#include <gtest/gtest.h>

#include <algorithm>

#include "api/chat_frontend.hpp"
#include "api/messages_service.hpp"
#include "support/fake_model.hpp"

namespace pensieve::api {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

using testing::TokenScriptBackend;

std::unique_ptr<ChatFrontend> load_frontend(const char* model) {
  auto file = gguf::File::open(std::string(PENSIEVE_FIXTURES) + "/models/" + model);
  EXPECT_TRUE(file.ok()) << file.error().message;
  auto fe = ChatFrontend::from_gguf(file->contents());
  EXPECT_TRUE(fe.ok()) << fe.error().message;
  return std::move(*fe);
}

json tools() {
  return json::array(
      {{{"name", "get_time"},
        {"description", "The current time"},
        {"input_schema", {{"type", "object"}, {"properties", {{"tz", {{"type", "string"}}}}}}}},
       {{"name", "get_date"}, {"input_schema", {{"type", "object"}}}}});
}

json request(json tool_choice) {
  return {{"model", "claude-opus-5-5"},
          {"max_tokens", 200},
          {"tools", tools()},
          {"tool_choice", std::move(tool_choice)},
          {"messages", {{{"role", "user"}, {"content", "What time is it in UTC?"}}}}};
}

MessagesRequest parsed(const json& body) {
  auto p = parse_messages_request(std::string_view(body.dump()), RequestKind::kCreate);
  EXPECT_TRUE(p.request) << p.error->message;
  return *p.request;
}

std::string prompt_text(ChatFrontend& fe, const Prompt& prompt) {
  return fe.tokenizer().decode(prompt.tokens, tokenizer::DecodeOptions{true, false});
}

TEST(ToolChoiceFrontend, ForcedToolIsPrefilledAtThePromptEndPerFixtureModel) {
  struct Case {
    const char* model;
    const char* prefill;  // nullptr: the family has nothing to prefill
  };
  const Case cases[] = {
      {"qwen3-q8_0.gguf", "<think>\n\n</think>\n\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": "},
      {"qwen2-q8_0.gguf", "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": "},
      {"llama3-rope-q4_k_m.gguf", "<|end_header_id|>\n\n{\"name\": \"get_time\", \"parameters\": "},
      {"phi3-q4_k_m.gguf", nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.model);
    auto fe = load_frontend(c.model);
    ASSERT_TRUE(fe);
    auto forced = fe->prompt(parsed(request({{"type", "tool"}, {"name", "get_time"}})));
    ASSERT_TRUE(forced.ok()) << forced.error().message;
    auto automatic = fe->prompt(parsed(request({{"type", "auto"}})));
    ASSERT_TRUE(automatic.ok());
    const std::string text = prompt_text(*fe, *forced);
    if (c.prefill == nullptr) {
      EXPECT_TRUE(forced->prefill.empty());
      EXPECT_EQ(forced->tokens, automatic->tokens);  // falls back to auto
      continue;
    }
    EXPECT_TRUE(text.ends_with(c.prefill)) << text;
    EXPECT_TRUE(std::string_view(c.prefill).ends_with(forced->prefill));
    // The prefill's marker is a control token (one id), as when the template writes it.
    if (const auto tool_call = fe->tokenizer().find_token("<tool_call>")) {
      const auto count = [&](const std::vector<std::int32_t>& t) {
        return std::count(t.begin(), t.end(), *tool_call);
      };
      EXPECT_EQ(count(forced->tokens), count(automatic->tokens) + 1);
    }
    EXPECT_GT(forced->tokens.size(), automatic->tokens.size());
  }
}

class ToolChoiceService : public ::testing::Test {
 protected:
  void SetUp() override {
    frontend = load_frontend("qwen3-q8_0.gguf");
    ASSERT_TRUE(frontend);
    end = *frontend->tokenizer().find_token("<|im_end|>");
  }

  json run(const json& body, const std::string& model_text) {
    script = frontend->tokenizer().encode(model_text, true);
    backend = std::make_unique<TokenScriptBackend>(script, end, frontend->tokenizer().n_vocab());
    scheduler = std::move(engine::Scheduler::create(*backend, {}).value());
    MessagesService service(*frontend, *scheduler, ModelInfo{"qwen3", "Qwen3", "2026-01-01T00:00:00Z"});
    auto started = service.create(body.dump(), "req_test");
    if (started.reply) return json::parse(started.reply->body);
    std::string out;
    while (started.stream->poll(out, 1000ms) != ResponseStream::Poll::kDone) {
    }
    return json::parse(out);
  }

  std::unique_ptr<ChatFrontend> frontend;
  std::int32_t end = -1;
  std::vector<std::int32_t> script;
  std::unique_ptr<TokenScriptBackend> backend;
  std::unique_ptr<engine::Scheduler> scheduler;
};

TEST_F(ToolChoiceService, ToolChoiceToolGivesThatToolWithTheModelsArguments) {
  const json body = request({{"type", "tool"}, {"name", "get_time"}});
  auto m = run(body, "{\"tz\": \"UTC\"}}\n</tool_call>");
  ASSERT_EQ(m["content"].size(), 1u) << m.dump();
  EXPECT_EQ(m["content"][0]["type"], "tool_use");
  EXPECT_EQ(m["content"][0]["name"], "get_time");
  EXPECT_EQ(m["content"][0]["input"], (json{{"tz", "UTC"}}));
  EXPECT_EQ(m["stop_reason"], "tool_use");
  // Usage is real: the prefill is part of the input.
  auto prompt = frontend->prompt(parsed(body));
  ASSERT_TRUE(prompt.ok());
  EXPECT_EQ(m["usage"]["input_tokens"].get<std::int64_t>() +
                m["usage"]["cache_creation_input_tokens"].get<std::int64_t>(),
            static_cast<std::int64_t>(prompt->tokens.size()));
  EXPECT_EQ(m["usage"]["output_tokens"], static_cast<std::int64_t>(script.size()));
}

TEST_F(ToolChoiceService, ToolChoiceToolStreamsOneToolUseBlock) {
  json body = request({{"type", "tool"}, {"name", "get_date"}});
  body["stream"] = true;
  body["thinking"] = {{"type", "enabled"}, {"budget_tokens", 1024}};  // skipped for a forced call
  script = frontend->tokenizer().encode("{}}\n</tool_call>", true);
  backend = std::make_unique<TokenScriptBackend>(script, end, frontend->tokenizer().n_vocab());
  scheduler = std::move(engine::Scheduler::create(*backend, {}).value());
  MessagesService service(*frontend, *scheduler, ModelInfo{"qwen3", "Qwen3", "2026-01-01T00:00:00Z"});
  auto started = service.create(body.dump(), "req_test");
  ASSERT_FALSE(started.reply);
  std::string sse;
  while (started.stream->poll(sse, 1000ms) != ResponseStream::Poll::kDone) {
  }
  EXPECT_NE(sse.find("\"type\":\"tool_use\""), std::string::npos) << sse;
  EXPECT_NE(sse.find("\"name\":\"get_date\""), std::string::npos) << sse;
  EXPECT_EQ(sse.find("thinking"), std::string::npos) << sse;
  EXPECT_NE(sse.find("\"stop_reason\":\"tool_use\""), std::string::npos) << sse;
}

TEST_F(ToolChoiceService, ToolChoiceAnyLetsTheModelNameTheTool) {
  auto m = run(request({{"type", "any"}}), "get_date\", \"arguments\": {}}\n</tool_call>");
  ASSERT_EQ(m["content"].size(), 1u) << m.dump();
  EXPECT_EQ(m["content"][0]["type"], "tool_use");
  EXPECT_EQ(m["content"][0]["name"], "get_date");
  EXPECT_EQ(m["content"][0]["input"], json::object());
  EXPECT_EQ(m["stop_reason"], "tool_use");
}

TEST_F(ToolChoiceService, UnknownForcedToolIsA400) {
  auto m = run(request({{"type", "tool"}, {"name", "rm_rf"}}), "x");
  EXPECT_EQ(m["type"], "error") << m.dump();
  EXPECT_EQ(m["error"]["type"], "invalid_request_error") << m.dump();
}

TEST_F(ToolChoiceService, NoneOffersNoToolsAndCallMarkupStaysText) {
  const json body = request({{"type", "none"}});
  auto prompt = frontend->prompt(parsed(body));
  ASSERT_TRUE(prompt.ok());
  const std::string text = prompt_text(*frontend, *prompt);
  EXPECT_EQ(text.find("get_time"), std::string::npos) << text;
  EXPECT_TRUE(prompt->prefill.empty());
  const std::string written = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>";
  auto m = run(body, written);
  ASSERT_EQ(m["content"].size(), 1u) << m.dump();
  EXPECT_EQ(m["content"][0]["type"], "text");
  EXPECT_EQ(m["content"][0]["text"], written);
  EXPECT_EQ(m["stop_reason"], "end_turn");
}

TEST_F(ToolChoiceService, DisableParallelToolUseStopsAfterTheFirstCall) {
  const std::string first =
      "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}\n</tool_call>";
  const std::string second = "\n<tool_call>\n{\"name\": \"get_date\", \"arguments\": {}}\n</tool_call>";
  for (const char* type : {"auto", "any"}) {
    SCOPED_TRACE(type);
    json choice = {{"type", type}, {"disable_parallel_tool_use", true}};
    // With "any" the opener is prefilled: the model writes the rest of the first call.
    const std::string model_text =
        std::string(type) == "any" ? first.substr(std::string("<tool_call>\n{\"name\": \"").size()) + second
                                   : first + second;
    auto m = run(request(choice), model_text);
    ASSERT_EQ(m["content"].size(), 1u) << m.dump();
    EXPECT_EQ(m["content"][0]["name"], "get_time");
    EXPECT_EQ(m["stop_reason"], "tool_use");
    // Generation stopped there: the second call's tokens were never produced.
    EXPECT_LT(m["usage"]["output_tokens"].get<std::int64_t>(), static_cast<std::int64_t>(script.size()));
  }
  // Without the flag both calls come back.
  auto both = run(request({{"type", "auto"}}), first + second);
  EXPECT_EQ(both["content"].size(), 2u) << both.dump();
}

}  // namespace
}  // namespace pensieve::api
