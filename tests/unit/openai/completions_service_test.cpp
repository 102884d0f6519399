// The OpenAI routes over the real Frontend of a model (the qwen3 fixture's tokenizer, template
// and parser) and the Messages service, with a backend that "generates" a scripted text: a text
// completion's prompt is the client's text tokenized as it is (no chat template) and its answer is
// all text, cut by max_tokens (16 by default) or a stop sequence; tool calls on the chat route get
// OpenAI's `call_` ids.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/chat_frontend.hpp"
#include "api/messages_service.hpp"
#include "openai/chat_completions.hpp"
#include "openai/text_completions.hpp"
#include "support/fake_model.hpp"

namespace pensieve::openai {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const gguf::File& fixture() {
  static const gguf::File file =
      std::move(gguf::File::open(PENSIEVE_FIXTURES "/models/qwen3-q8_0.gguf").value());
  return file;
}

class CompletionsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fe = api::ChatFrontend::from_gguf(fixture().contents());
    ASSERT_TRUE(fe.ok()) << fe.error().message;
    frontend = std::move(*fe);
    auto im_end = frontend->tokenizer().find_token("<|im_end|>");
    ASSERT_TRUE(im_end.has_value());
    end = *im_end;
  }

  enum class Route { kText, kChat };
  // Runs `body` on a route with the model answering `model_text` (control tokens in it parsed as
  // such); returns what the HTTP side would send.
  std::string run(Route route, const json& body, const std::string& model_text, int* status = nullptr) {
    backend = std::make_unique<api::testing::TokenScriptBackend>(
        frontend->tokenizer().encode(model_text, true), end, frontend->tokenizer().n_vocab());
    scheduler = std::move(engine::Scheduler::create(*backend, {}).value());
    api::MessagesService service(*frontend, *scheduler,
                                 api::ModelInfo{"qwen3", "Qwen3", "2026-01-01T00:00:00Z"});
    auto started = route == Route::kText ? create_text_completion(service, body.dump(), "req_test")
                                         : create_chat_completion(service, body.dump(), "req_test");
    if (started.reply) {
      if (status) *status = started.reply->status;
      return started.reply->body;
    }
    std::string out;
    while (started.stream->poll(out, 1000ms) != api::ResponseStream::Poll::kDone) {
    }
    if (status) *status = started.stream->streaming() ? 200 : started.stream->http_status();
    return out;
  }

  // The JSON objects of a stream's "data:" frames, up to [DONE] (which must end it).
  static std::vector<json> chunks(const std::string& sse) {
    std::vector<json> out;
    std::size_t pos = 0;
    bool done = false;
    while (pos < sse.size()) {
      const std::size_t end = sse.find("\n\n", pos);
      if (end == std::string::npos) break;
      const std::string frame = sse.substr(pos, end - pos);
      pos = end + 2;
      if (frame.rfind("data: ", 0) != 0) continue;  // a ping comment
      EXPECT_FALSE(done) << "nothing after [DONE]";
      if (frame == "data: [DONE]") {
        done = true;
        continue;
      }
      out.push_back(json::parse(frame.substr(6)));
    }
    EXPECT_TRUE(done) << sse;
    return out;
  }

  std::size_t prompt_tokens(const std::string& text) const {
    auto ids = frontend->tokenizer().encode(text, true);
    const auto& tok = frontend->tokenizer();
    if (tok.add_bos() && tok.bos_id() && (ids.empty() || ids.front() != *tok.bos_id()))
      ids.insert(ids.begin(), 0);
    return ids.size();
  }

  std::unique_ptr<api::ChatFrontend> frontend;
  std::unique_ptr<api::testing::TokenScriptBackend> backend;
  std::unique_ptr<engine::Scheduler> scheduler;
  std::int32_t end = 0;
};

TEST_F(CompletionsServiceTest, ATextCompletionContinuesThePromptAsItIs) {
  // The client's own template: its control tokens count as one token each, and no template of
  // ours is added around it.
  const std::string prompt = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
  int status = 0;
  const json body = json::parse(run(
      Route::kText, {{"model", "local"}, {"prompt", prompt}, {"max_tokens", 50}}, "Hello there", &status));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(body["model"], "local");
  EXPECT_EQ(body["choices"][0]["text"], "Hello there");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(body["usage"]["prompt_tokens"], prompt_tokens(prompt));
  EXPECT_LT(body["usage"]["prompt_tokens"].get<std::size_t>(), 20u)
      << "control tokens parsed, not spelled out";
  EXPECT_EQ(body["usage"]["completion_tokens"], frontend->tokenizer().encode("Hello there", true).size());
}

TEST_F(CompletionsServiceTest, ItsOutputIsAllText) {
  const std::string answer =
      "<think>plan</think>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": "
      "\"UTC\"}}\n</tool_call>";
  const json body =
      json::parse(run(Route::kText, {{"model", "m"}, {"prompt", "Q:"}, {"max_tokens", 100}}, answer));
  EXPECT_EQ(body["choices"][0]["text"], answer);
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
}

TEST_F(CompletionsServiceTest, SixteenTokensUnlessToldOtherwise) {
  std::string longer;
  for (int i = 0; i < 40; ++i) longer += " word";
  const json body = json::parse(run(Route::kText, {{"model", "m"}, {"prompt", "Say:"}}, longer));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(body["usage"]["completion_tokens"], 16);
}

TEST_F(CompletionsServiceTest, AStopSequenceEndsTheStreamedText) {
  const std::string sse = run(Route::kText,
                              {{"model", "m"},
                               {"prompt", "count:"},
                               {"stream", true},
                               {"stream_options", {{"include_usage", true}}},
                               {"stop", json::array({"\n\n", " three"})},
                               {"echo", true}},
                              " one two three four");
  std::string text, finish;
  json usage;
  for (const json& c : chunks(sse)) {
    EXPECT_EQ(c["object"], "text_completion");
    if (c["choices"].empty()) {
      usage = c["usage"];
      continue;
    }
    text += c["choices"][0]["text"].get<std::string>();
    if (!c["choices"][0]["finish_reason"].is_null()) finish = c["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(text, "count: one two");
  EXPECT_EQ(finish, "stop");
  ASSERT_TRUE(usage.is_object());
  EXPECT_EQ(usage["prompt_tokens"], prompt_tokens("count:"));
}

TEST_F(CompletionsServiceTest, RefusalsComeInOpenAIsEnvelope) {
  int status = 0;
  const json body =
      json::parse(run(Route::kText, {{"model", "m"}, {"prompt", "x"}, {"suffix", "y"}}, "never", &status));
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("suffix"), std::string::npos);
}

json chat_with_tools(bool stream) {
  return {{"model", "m"},
          {"stream", stream},
          {"max_tokens", 200},
          {"tools",
           json::array(
               {{{"type", "function"},
                 {"function",
                  {{"name", "get_time"},
                   {"parameters", {{"type", "object"}, {"properties", {{"tz", {{"type", "string"}}}}}}}}}}})},
          {"messages", json::array({{{"role", "user"}, {"content", "Time?"}}})}};
}

constexpr const char* kCall =
    "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}\n</tool_call>";

TEST_F(CompletionsServiceTest, ChatToolCallsHaveOpenAIsIds) {
  const json body = json::parse(run(Route::kChat, chat_with_tools(false), kCall));
  const json& calls = body["choices"][0]["message"]["tool_calls"];
  ASSERT_EQ(calls.size(), 1u) << body.dump();
  const std::string id = calls[0]["id"];
  EXPECT_EQ(id.rfind("call_", 0), 0u) << id;
  EXPECT_GT(id.size(), 5u);
  EXPECT_EQ(body["choices"][0]["finish_reason"], "tool_calls");

  std::string streamed_id;
  for (const json& c : chunks(run(Route::kChat, chat_with_tools(true), kCall))) {
    if (c["choices"].empty()) continue;
    const json& delta = c["choices"][0]["delta"];
    if (delta.contains("tool_calls") && delta["tool_calls"][0].contains("id"))
      streamed_id = delta["tool_calls"][0]["id"];
  }
  EXPECT_EQ(streamed_id.rfind("call_", 0), 0u) << streamed_id;
}

}  // namespace
}  // namespace pensieve::openai
