// gpt-oss's real Frontend (the fixture's o200k vocabulary, its harmony chat template and the
// harmony output parser) behind the Messages service, with a backend that "generates" a scripted
// token sequence: Anthropic's thinking setting reaching the template as reasoning_effort, and a
// tool call out of the harmony format and its result back into it.
#include <gtest/gtest.h>

#include "api/chat_frontend.hpp"
#include "api/messages_service.hpp"
#include "support/fake_model.hpp"

namespace pensieve::api {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const gguf::File& fixture() {
  static const gguf::File file =
      std::move(gguf::File::open(PENSIEVE_FIXTURES "/models/gpt-oss-f16.gguf").value());
  return file;
}

class GptOssFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fe = ChatFrontend::from_gguf(fixture().contents());
    ASSERT_TRUE(fe.ok()) << fe.error().message;
    frontend = std::move(*fe);
  }

  // The prompt `body` renders to, as text with its control tokens.
  std::string prompt_text(const json& body) {
    auto parsed = parse_messages_request(std::string_view(body.dump()), RequestKind::kCreate);
    EXPECT_TRUE(parsed.request);
    if (!parsed.request) return {};
    auto prompt = frontend->prompt(*parsed.request);
    EXPECT_TRUE(prompt.ok()) << prompt.error().message;
    if (!prompt.ok()) return {};
    return frontend->tokenizer().decode(prompt->tokens, tokenizer::DecodeOptions{true, false});
  }

  // Runs `body` with the model answering `model_text` (control tokens in it parsed as such); the
  // scripted generation ends with the first of the frontend's end tokens.
  json run(const json& body, const std::string& model_text) {
    const auto ends = frontend->end_tokens();
    EXPECT_FALSE(ends.empty());
    backend = std::make_unique<testing::TokenScriptBackend>(frontend->tokenizer().encode(model_text, true),
                                                            ends.front(), frontend->tokenizer().n_vocab());
    scheduler = std::move(engine::Scheduler::create(*backend, {}).value());
    MessagesService service(*frontend, *scheduler, ModelInfo{"gpt-oss", "gpt-oss", "2026-01-01T00:00:00Z"});
    auto started = service.create(body.dump(), "req_test");
    if (started.reply) return json::parse(started.reply->body);
    std::string out;
    while (started.stream->poll(out, 1000ms) != ResponseStream::Poll::kDone) {
    }
    return json::parse(out);
  }

  static json request(json messages) {
    return {
        {"model", "gpt-oss"},
        {"max_tokens", 200},
        {"messages", std::move(messages)},
        {"tools", json::array({{{"name", "get_time"},
                                {"description", "The current time"},
                                {"input_schema",
                                 {{"type", "object"}, {"properties", {{"tz", {{"type", "string"}}}}}}}}})}};
  }

  std::unique_ptr<ChatFrontend> frontend;
  std::unique_ptr<testing::TokenScriptBackend> backend;
  std::unique_ptr<engine::Scheduler> scheduler;
};

TEST(ReasoningEffort, FollowsThinkingAndItsBudget) {
  EXPECT_EQ(reasoning_effort(false, std::nullopt), "low");
  EXPECT_EQ(reasoning_effort(true, std::nullopt), "medium");  // adaptive
  EXPECT_EQ(reasoning_effort(true, 1024), "low");
  EXPECT_EQ(reasoning_effort(true, 8000), "medium");
  EXPECT_EQ(reasoning_effort(true, 32000), "high");
}

TEST_F(GptOssFrontendTest, ThinkingSetsTheReasoningEffortTheTemplateShows) {
  json body = request({{{"role", "user"}, {"content", "hi"}}});
  EXPECT_NE(prompt_text(body).find("Reasoning: low\n"), std::string::npos);
  body["thinking"] = {{"type", "enabled"}, {"budget_tokens", 20000}};
  EXPECT_NE(prompt_text(body).find("Reasoning: high\n"), std::string::npos);
}

// The model's harmony call (analysis, then a commentary message to functions.get_time) comes back
// as thinking and a tool_use; the call and its result go back into the prompt as harmony messages,
// and the model's final message is the answer.
TEST_F(GptOssFrontendTest, ToolCallRoundTripThroughHarmony) {
  json body = request({{{"role", "user"}, {"content", "What time is it in UTC?"}}});
  body["thinking"] = {{"type", "enabled"}, {"budget_tokens", 2048}};
  const json call =
      run(body,
          "<|channel|>analysis<|message|>Need the time.<|end|><|start|>assistant<|channel|>"
          "commentary to=functions.get_time <|constrain|>json<|message|>{\"tz\":\"UTC\"}<|call|>");
  ASSERT_EQ(call["content"].size(), 2u) << call.dump();
  EXPECT_EQ(call["content"][0]["type"], "thinking");
  EXPECT_EQ(call["content"][0]["thinking"], "Need the time.");
  EXPECT_EQ(call["content"][1]["type"], "tool_use");
  EXPECT_EQ(call["content"][1]["name"], "get_time");
  EXPECT_EQ(call["content"][1]["input"], (json{{"tz", "UTC"}}));
  EXPECT_EQ(call["stop_reason"], "tool_use");

  const std::string id = call["content"][1]["id"];
  json next =
      request({{{"role", "user"}, {"content", "What time is it in UTC?"}},
               {{"role", "assistant"}, {"content", call["content"]}},
               {{"role", "user"},
                {"content", {{{"type", "tool_result"}, {"tool_use_id", id}, {"content", "12:00"}}}}}});
  const std::string text = prompt_text(next);
  EXPECT_NE(text.find("<|start|>assistant to=functions.get_time<|channel|>commentary json<|message|>"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("<|start|>functions.get_time to=assistant<|channel|>commentary<|message|>\"12:00\"<|end|>"),
      std::string::npos)
      << text;
  EXPECT_TRUE(text.ends_with("<|end|><|start|>assistant")) << text;

  const json answer = run(next, "<|channel|>final<|message|>It is noon.<|return|>");
  ASSERT_EQ(answer["content"].size(), 1u) << answer.dump();
  EXPECT_EQ(answer["content"][0]["type"], "text");
  EXPECT_EQ(answer["content"][0]["text"], "It is noon.");
  EXPECT_EQ(answer["stop_reason"], "end_turn");
}

}  // namespace
}  // namespace pensieve::api
