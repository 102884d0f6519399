// The text-completions shapes of one answer: streamed `text_completion` chunks whose text pieces
// add up to the answer (the prompt first with echo), the finish reason on the last, usage when
// asked, [DONE]; and the whole object — each parsed back as a client would.
#include "openai/text_completion_encoder.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pensieve::openai {
namespace {

using nlohmann::json;

chat::ChatEvent text(std::string t) {
  chat::ChatEvent e;
  e.kind = chat::ChatEventKind::kText;
  e.text = std::move(t);
  return e;
}

TextCompletionEncoder::Options options(bool streaming, bool include_usage, std::string echo = {}) {
  TextCompletionEncoder::Options o;
  o.id = "cmpl-1";
  o.model = "m";
  o.created = 1700000000;
  o.prompt_tokens = 10;
  o.streaming = streaming;
  o.include_usage = include_usage;
  o.echo = std::move(echo);
  return o;
}

std::string answer(TextCompletionEncoder& encoder, api::StopReason reason) {
  std::string out;
  encoder.prompt_cache(4, 6);
  encoder.start(out);
  encoder.event(text("Hello"), out);
  encoder.event(text(", \"world\"\n"), out);
  encoder.end(reason, std::nullopt, 3, out);
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

struct Streamed {
  std::string text, finish;
  json usage;
  int chunks_with_finish = 0;
};

Streamed read_stream(const std::string& sse) {
  const auto lines = data_lines(sse);
  Streamed s;
  EXPECT_FALSE(lines.empty());
  if (lines.empty()) return s;
  EXPECT_EQ(lines.back(), "[DONE]");
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    const json chunk = json::parse(lines[i]);
    EXPECT_EQ(chunk["id"], "cmpl-1");
    EXPECT_EQ(chunk["object"], "text_completion");
    EXPECT_EQ(chunk["created"], 1700000000);
    EXPECT_EQ(chunk["model"], "m");
    if (chunk["choices"].empty()) {
      s.usage = chunk["usage"];
      continue;
    }
    EXPECT_FALSE(chunk.contains("usage"));
    const json& choice = chunk["choices"][0];
    EXPECT_EQ(choice["index"], 0);
    EXPECT_TRUE(choice["logprobs"].is_null());
    s.text += choice["text"].get<std::string>();
    if (!choice["finish_reason"].is_null()) {
      s.finish = choice["finish_reason"];
      ++s.chunks_with_finish;
    }
  }
  return s;
}

TEST(TextCompletionEncoder, StreamedChunksAddUpToTheText) {
  TextCompletionEncoder encoder(options(true, true));
  const Streamed s = read_stream(answer(encoder, api::StopReason::kEndTurn));
  EXPECT_EQ(s.text, "Hello, \"world\"\n");
  EXPECT_EQ(s.finish, "stop");
  EXPECT_EQ(s.chunks_with_finish, 1);
  EXPECT_EQ(s.usage["prompt_tokens"], 10);
  EXPECT_EQ(s.usage["completion_tokens"], 3);
  EXPECT_EQ(s.usage["total_tokens"], 13);
  EXPECT_EQ(s.usage["prompt_tokens_details"]["cached_tokens"], 4);
}

TEST(TextCompletionEncoder, NoUsageChunkUnlessAsked) {
  TextCompletionEncoder encoder(options(true, false));
  const Streamed s = read_stream(answer(encoder, api::StopReason::kMaxTokens));
  EXPECT_TRUE(s.usage.is_null());
  EXPECT_EQ(s.finish, "length");
}

TEST(TextCompletionEncoder, EchoStartsWithThePrompt) {
  TextCompletionEncoder streaming(options(true, false, "Say: "));
  EXPECT_EQ(read_stream(answer(streaming, api::StopReason::kStopSequence)).text, "Say: Hello, \"world\"\n");
  TextCompletionEncoder whole(options(false, false, "Say: "));
  EXPECT_EQ(json::parse(answer(whole, api::StopReason::kEndTurn))["choices"][0]["text"],
            "Say: Hello, \"world\"\n");
}

TEST(TextCompletionEncoder, TheWholeObjectWhenNotStreaming) {
  TextCompletionEncoder encoder(options(false, false));
  const json body = json::parse(answer(encoder, api::StopReason::kStopSequence));
  EXPECT_EQ(body["id"], "cmpl-1");
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["created"], 1700000000);
  EXPECT_EQ(body["model"], "m");
  ASSERT_EQ(body["choices"].size(), 1u);
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["text"], "Hello, \"world\"\n");
  EXPECT_EQ(choice["index"], 0);
  EXPECT_TRUE(choice["logprobs"].is_null());
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_EQ(body["usage"]["prompt_tokens"], 10);
  EXPECT_EQ(body["usage"]["completion_tokens"], 3);
  EXPECT_EQ(body["usage"]["total_tokens"], 13);
  TextCompletionEncoder cut(options(false, false));
  EXPECT_EQ(json::parse(answer(cut, api::StopReason::kMaxTokens))["choices"][0]["finish_reason"], "length");
}

// Only text is written: a raw prompt's parser makes nothing else, and nothing else has a place here.
TEST(TextCompletionEncoder, OnlyTextIsWritten) {
  TextCompletionEncoder encoder(options(true, false));
  std::string out;
  encoder.start(out);
  EXPECT_EQ(out, "");
  chat::ChatEvent reasoning;
  reasoning.kind = chat::ChatEventKind::kReasoning;
  reasoning.text = "hidden";
  encoder.event(reasoning, out);
  EXPECT_EQ(out, "");
}

TEST(TextCompletionEncoder, ErrorsInOpenAIsEnvelope) {
  TextCompletionEncoder streaming(options(true, false));
  std::string out;
  streaming.start(out);
  streaming.event(text("a"), out);
  streaming.fail(api::ApiError{503, "overloaded_error", "busy"}, out);
  const auto lines = data_lines(out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(json::parse(lines[1])["error"]["message"], "busy");
  EXPECT_EQ(json::parse(lines[1])["error"]["type"], "server_error");
  EXPECT_EQ(lines[2], "[DONE]");
  TextCompletionEncoder whole(options(false, false));
  std::string body;
  whole.fail(api::ApiError{400, "invalid_request_error", "bad"}, body);
  EXPECT_EQ(json::parse(body)["error"]["message"], "bad");
}

}  // namespace
}  // namespace pensieve::openai
