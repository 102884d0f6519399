// The chat-completions shapes of one answer: streamed chunks (role first, content and reasoning
// deltas, a tool call's name then its arguments in pieces, the finish reason, usage when asked,
// [DONE]) and the whole object, each parsed back as a client would.
#include "openai/completion_encoder.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pensieve::openai {
namespace {

using nlohmann::json;

chat::ChatEvent event(chat::ChatEventKind kind, std::string text, std::string name = {}) {
  chat::ChatEvent e;
  e.kind = kind;
  e.text = std::move(text);
  e.name = std::move(name);
  return e;
}

std::string answer(CompletionEncoder& encoder, api::StopReason reason) {
  std::string out;
  encoder.prompt_cache(3, 7);
  encoder.start(out);
  encoder.event(event(chat::ChatEventKind::kReasoning, "hmm \"x\""), out);
  encoder.event(event(chat::ChatEventKind::kText, "Hi\n"), out);
  encoder.event(event(chat::ChatEventKind::kToolCallStart, "", "get_time"), out);
  encoder.event(event(chat::ChatEventKind::kToolCallArguments, "{\"tz\":"), out);
  encoder.event(event(chat::ChatEventKind::kToolCallArguments, "\"UTC\"}"), out);
  encoder.event(event(chat::ChatEventKind::kToolCallEnd, ""), out);
  encoder.end(reason, std::nullopt, 5, out);
  return out;
}

std::vector<std::string> data_lines(const std::string& sse) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < sse.size()) {
    const std::size_t end = sse.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos);
    if (end == std::string::npos) break;
    const std::string frame = sse.substr(pos, end - pos);
    EXPECT_EQ(frame.rfind("data: ", 0), 0u) << frame;
    lines.push_back(frame.substr(6));
    pos = end + 2;
  }
  return lines;
}

TEST(CompletionEncoder, StreamedChunksReassembleTheAnswer) {
  CompletionEncoder encoder({"chatcmpl-1", "m", 1700000000, 10, true, true});
  const auto lines = data_lines(answer(encoder, api::StopReason::kToolUse));
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines.back(), "[DONE]");
  std::string content, reasoning, name, arguments, finish;
  json usage;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    const json chunk = json::parse(lines[i]);
    EXPECT_EQ(chunk["id"], "chatcmpl-1");
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    EXPECT_EQ(chunk["created"], 1700000000);
    if (chunk["choices"].empty()) {
      usage = chunk["usage"];
      continue;
    }
    const json& choice = chunk["choices"][0];
    const json& delta = choice["delta"];
    if (i == 0) {
      EXPECT_EQ(delta["role"], "assistant");
    }
    content += delta.value("content", "");
    reasoning += delta.value("reasoning_content", "");
    if (delta.contains("tool_calls")) {
      const json& call = delta["tool_calls"][0];
      EXPECT_EQ(call["index"], 0);
      if (call.contains("id")) {
        EXPECT_EQ(call["id"].get<std::string>().rfind("call_", 0), 0u);
        name = call["function"]["name"];
      }
      arguments += call["function"]["arguments"].get<std::string>();
    }
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(content, "Hi\n");
  EXPECT_EQ(reasoning, "hmm \"x\"");
  EXPECT_EQ(name, "get_time");
  EXPECT_EQ(json::parse(arguments), json::parse(R"({"tz":"UTC"})"));
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(usage["prompt_tokens"], 10);
  EXPECT_EQ(usage["completion_tokens"], 5);
  EXPECT_EQ(usage["total_tokens"], 15);
  EXPECT_EQ(usage["prompt_tokens_details"]["cached_tokens"], 3);
}

TEST(CompletionEncoder, TheWholeObjectWhenNotStreaming) {
  CompletionEncoder encoder({"chatcmpl-2", "m", 1, 10, false, false});
  const json body = json::parse(answer(encoder, api::StopReason::kToolUse));
  EXPECT_EQ(body["object"], "chat.completion");
  const json& message = body["choices"][0]["message"];
  EXPECT_EQ(message["role"], "assistant");
  EXPECT_EQ(message["content"], "Hi\n");
  EXPECT_EQ(message["reasoning_content"], "hmm \"x\"");
  EXPECT_EQ(message["tool_calls"][0]["type"], "function");
  EXPECT_EQ(message["tool_calls"][0]["function"]["name"], "get_time");
  EXPECT_EQ(json::parse(message["tool_calls"][0]["function"]["arguments"].get<std::string>()),
            json::parse(R"({"tz":"UTC"})"));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(body["usage"]["total_tokens"], 15);
}

TEST(CompletionEncoder, FinishReasonsAndErrors) {
  EXPECT_STREQ(finish_reason(api::StopReason::kEndTurn), "stop");
  EXPECT_STREQ(finish_reason(api::StopReason::kStopSequence), "stop");
  EXPECT_STREQ(finish_reason(api::StopReason::kMaxTokens), "length");
  CompletionEncoder streaming({"chatcmpl-3", "m", 1, 1, true, false});
  std::string out;
  streaming.start(out);
  streaming.fail(api::ApiError{503, "overloaded_error", "busy"}, out);
  const auto lines = data_lines(out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(json::parse(lines[1])["error"]["message"], "busy");
  EXPECT_EQ(lines[2], "[DONE]");
  CompletionEncoder whole({"chatcmpl-4", "m", 1, 1, false, false});
  std::string body;
  whole.fail(api::ApiError{400, "invalid_request_error", "bad"}, body);
  const json error = json::parse(body)["error"];
  EXPECT_EQ(error["message"], "bad");
  EXPECT_EQ(error["type"], "invalid_request_error");
  EXPECT_TRUE(error.contains("param") && error.contains("code"));
}

}  // namespace
}  // namespace pensieve::openai
