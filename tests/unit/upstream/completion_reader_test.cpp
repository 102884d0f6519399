// An upstream's answer read back as chat events: chunks written by pensieve's own OpenAI encoder
// (fed a byte at a time and whole), the same answer as one chat.completion body, vLLM-style chunks
// written from OpenAI's documented shapes, error chunks, malformed chunks and cut streams.
#include "upstream/completion_reader.hpp"

#include <gtest/gtest.h>

#include "openai/completion_encoder.hpp"

namespace pensieve::upstream {
namespace {

using chat::ChatEvent;
using chat::ChatEventKind;

ChatEvent delta(ChatEventKind kind, std::string text) {
  ChatEvent e;
  e.kind = kind;
  e.text = std::move(text);
  return e;
}
ChatEvent start(std::string id, std::string name) {
  ChatEvent e;
  e.kind = ChatEventKind::kToolCallStart;
  e.id = std::move(id);
  e.name = std::move(name);
  return e;
}
ChatEvent end(bool complete = true) {
  ChatEvent e;
  e.kind = ChatEventKind::kToolCallEnd;
  e.complete = complete;
  return e;
}

// An answer with reasoning, text (with multi-byte UTF-8 to cut through) and two tool calls.
std::vector<ChatEvent> answer_events() {
  return {delta(ChatEventKind::kReasoning, "Two calls: \"time\" and "),
          delta(ChatEventKind::kReasoning, "weather."),
          delta(ChatEventKind::kText, "Héllo wörld 😀\n"),
          start("call_a", "get_time"),
          delta(ChatEventKind::kToolCallArguments, "{\"tz\":"),
          delta(ChatEventKind::kToolCallArguments, "\"Europe/Paris\"}"),
          end(),
          start("call_b", "get_weather"),
          delta(ChatEventKind::kToolCallArguments, "{\"city\":\"Tōkyō\",\"days\":[1,2]}"),
          end()};
}

std::string encoded(bool streaming) {
  openai::CompletionEncoder encoder({"chatcmpl-1", "m", 1700000000, 17, streaming, true});
  std::string out;
  encoder.prompt_cache(5, 0);
  encoder.start(out);
  for (const ChatEvent& e : answer_events()) encoder.event(e, out);
  encoder.end(api::StopReason::kToolUse, std::nullopt, 42, out);
  return out;
}

struct Read {
  std::vector<ChatEvent> events;
  std::optional<api::StopReason> stop;
  std::optional<CompletionReader::Usage> usage;
  std::optional<api::ApiError> error;
  bool began = false, finished = false;
};

std::function<std::string()> counting_ids() {
  auto n = std::make_shared<int>(0);
  return [n] { return "toolu_made_" + std::to_string((*n)++); };
}

// Feeds `bytes` in pieces of `step` bytes (0: at once), then finishes.
Read read(const std::string& bytes, bool event_stream, std::size_t step = 0) {
  CompletionReader reader(event_stream, counting_ids());
  Read r;
  chat::EventSink sink(&r.events);
  if (step == 0) {
    reader.feed(bytes, sink);
  } else {
    for (std::size_t i = 0; i < bytes.size(); i += step)
      reader.feed(std::string_view(bytes).substr(i, step), sink);
  }
  reader.finish(sink);
  r.events = chat::merge_adjacent_deltas(r.events);
  r.stop = reader.stop_reason();
  r.usage = reader.usage();
  r.error = reader.error();
  r.began = reader.began();
  r.finished = reader.finished();
  return r;
}

void expect_usage(const Read& r, std::int64_t prompt, std::int64_t completion, std::int64_t cached) {
  ASSERT_TRUE(r.usage.has_value());
  EXPECT_EQ(r.usage->prompt_tokens, prompt);
  EXPECT_EQ(r.usage->completion_tokens, completion);
  EXPECT_EQ(r.usage->cached_tokens, cached);
}

TEST(CompletionReader, ReadsPensievesOwnStreamCutAnywhere) {
  const std::string sse = encoded(true);
  const std::vector<ChatEvent> want = chat::merge_adjacent_deltas(answer_events());
  for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    const Read r = read(sse, true, step);
    EXPECT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.events, want) << "step " << step;
    EXPECT_EQ(r.stop, api::StopReason::kToolUse);
    expect_usage(r, 17, 42, 5);
    EXPECT_TRUE(r.began);
    EXPECT_TRUE(r.finished);
  }
}

TEST(CompletionReader, BeganOnlyOnceSomethingCame) {
  const std::string sse = encoded(true);
  CompletionReader reader(true);
  std::vector<ChatEvent> events;
  chat::EventSink sink(&events);
  const std::size_t first = sse.find("\n\n") + 2;  // the role-only chunk
  reader.feed(std::string_view(sse).substr(0, first), sink);
  EXPECT_FALSE(reader.began());
  EXPECT_FALSE(reader.finished());
  EXPECT_FALSE(reader.stop_reason().has_value());
  reader.feed(std::string_view(sse).substr(first), sink);
  EXPECT_TRUE(reader.began());
  EXPECT_TRUE(reader.finished());
}

TEST(CompletionReader, WholeBodyGivesTheStreamsEvents) {
  const std::string body = encoded(false);
  ASSERT_EQ(body.front(), '{');
  for (std::size_t step : {std::size_t{0}, std::size_t{1}}) {
    const Read r = read(body, false, step);
    EXPECT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.events, read(encoded(true), true).events);
    EXPECT_EQ(r.events, chat::merge_adjacent_deltas(answer_events()));
    EXPECT_EQ(r.stop, api::StopReason::kToolUse);
    expect_usage(r, 17, 42, 5);
    EXPECT_TRUE(r.finished);
  }
}

// As vLLM streams a reasoning model's tool calls: a role-only first chunk, `reasoning`, the
// call's id and name before its arguments, `usage: null` on every chunk, then a usage chunk with
// no choices. Comments, other fields and CRLF line ends on the way.
const char* kVllmStream =
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"q\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
    "\"finish_reason\":null}],\"usage\":null}\n\n"
    ": ping\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"Need the \"},\"finish_reason\":null}]}\n\n"
    "event: message\r\nid: 3\r\ndata: "
    "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"time.\"}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"another choice\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":null,\"tool_calls\":[{\"index\":0,"
    "\"id\":\"chatcmpl-tool-1\",\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
    "\"{\\\"tz\\\": \"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
    "\"\\\"UTC\\\"}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"chatcmpl-tool-2\","
    "\"type\":\"function\",\"function\":{\"name\":\"noop\",\"arguments\":\"{}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"total_tokens\":14,\"completion_tokens\":5}}\n\n"
    "data: [DONE]\n\n";

TEST(CompletionReader, ReadsVllmStyleChunks) {
  const std::vector<ChatEvent> want = {delta(ChatEventKind::kReasoning, "Need the time."),
                                       start("chatcmpl-tool-1", "get_time"),
                                       delta(ChatEventKind::kToolCallArguments, "{\"tz\": \"UTC\"}"),
                                       end(),
                                       start("chatcmpl-tool-2", "noop"),
                                       delta(ChatEventKind::kToolCallArguments, "{}"),
                                       end()};
  for (std::size_t step : {std::size_t{0}, std::size_t{1}}) {
    const Read r = read(kVllmStream, true, step);
    EXPECT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.events, want);
    EXPECT_EQ(r.stop, api::StopReason::kToolUse);
    expect_usage(r, 9, 5, 0);
  }
}

std::string chunk(const std::string& delta_json, const std::string& finish = "null") {
  return "data: {\"choices\":[{\"index\":0,\"delta\":" + delta_json + ",\"finish_reason\":" + finish +
         "}]}\n\n";
}

TEST(CompletionReader, ToolCallPiecesInAnyOrder) {
  // No id (one is made), the first arguments before the name, the name with more arguments, and
  // a forced call that finishes with "stop" (an Anthropic answer with a call stops for tool_use).
  const std::string sse = chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"a\""}}]})") +
                          chunk(R"({"tool_calls":[{"index":0,"function":{"name":"f","arguments":":1"}}]})") +
                          chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"}"}}]})") +
                          chunk(R"({"content":"after"})") + chunk("{}", "\"stop\"") + "data: [DONE]\n\n";
  const Read r = read(sse, true, 1);
  EXPECT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.events, (std::vector<ChatEvent>{start("toolu_made_0", "f"),
                                              delta(ChatEventKind::kToolCallArguments, "{\"a\":1}"), end(),
                                              delta(ChatEventKind::kText, "after")}));
  EXPECT_EQ(r.stop, api::StopReason::kToolUse);
  EXPECT_FALSE(r.usage.has_value());
}

TEST(CompletionReader, FinishReasons) {
  const auto stop_of = [](const std::string& finish) {
    return read(chunk(R"({"content":"x"})") + chunk("{}", "\"" + finish + "\"") + "data: [DONE]\n\n", true)
        .stop;
  };
  EXPECT_EQ(stop_of("stop"), api::StopReason::kEndTurn);
  EXPECT_EQ(stop_of("length"), api::StopReason::kMaxTokens);
  EXPECT_EQ(stop_of("tool_calls"), api::StopReason::kToolUse);
  EXPECT_EQ(stop_of("function_call"), api::StopReason::kToolUse);
  EXPECT_EQ(stop_of("content_filter"), api::StopReason::kEndTurn);
  // [DONE] without a finish_reason: a proper end all the same.
  const Read done = read(chunk(R"({"content":"x"})") + "data: [DONE]\n\n", true);
  EXPECT_FALSE(done.error);
  EXPECT_EQ(done.stop, api::StopReason::kEndTurn);
}

TEST(CompletionReader, LengthCutsACallShort) {
  const Read r =
      read(chunk(R"({"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{\"a\":"}}]})") +
               chunk("{}", "\"length\"") + "data: [DONE]\n\n",
           true);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.stop, api::StopReason::kMaxTokens);
  EXPECT_EQ(r.events, (std::vector<ChatEvent>{
                          start("c", "f"), delta(ChatEventKind::kToolCallArguments, "{\"a\":"), end(false)}));
}

TEST(CompletionReader, ErrorChunkStopsTheAnswer) {
  // vLLM's shape, with the HTTP status as its code; what follows it is not read.
  const Read r = read(chunk(R"({"content":"par"})") +
                          "data: {\"error\":{\"object\":\"error\",\"message\":\"KV cache exhausted\","
                          "\"type\":\"InternalServerError\",\"param\":null,\"code\":500}}\n\n" +
                          chunk(R"({"content":"tial"})") + "data: [DONE]\n\n",
                      true);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->http_status, 502);
  EXPECT_NE(r.error->message.find("KV cache exhausted"), std::string::npos) << r.error->message;
  EXPECT_NE(r.error->message.find("upstream"), std::string::npos) << r.error->message;
  EXPECT_EQ(r.events, (std::vector<ChatEvent>{delta(ChatEventKind::kText, "par")}));
  EXPECT_TRUE(r.began);

  // pensieve's own failure frame: its error envelope, then [DONE].
  openai::CompletionEncoder encoder({"chatcmpl-2", "m", 1, 3, true, true});
  std::string sse;
  encoder.start(sse);
  encoder.fail(api::invalid_request("prompt is too long: 9000 tokens > 8192"), sse);
  const Read p = read(sse, true, 1);
  ASSERT_TRUE(p.error.has_value());
  EXPECT_EQ(p.error->http_status, 400);
  EXPECT_NE(p.error->message.find("prompt is too long"), std::string::npos) << p.error->message;
  EXPECT_FALSE(p.began);
  // A whole body that is an error.
  const Read b =
      read(R"({"object":"error","message":"busy","type":"ServiceUnavailableError","code":503})", false);
  ASSERT_TRUE(b.error.has_value());
  EXPECT_EQ(b.error->http_status, 529);
}

TEST(CompletionReader, MalformedChunksAre502s) {
  const auto error_of = [](const std::string& sse) {
    const Read r = read(sse, true);
    EXPECT_TRUE(r.error.has_value()) << sse;
    if (r.error) {
      EXPECT_EQ(r.error->http_status, 502);
      EXPECT_EQ(r.error->type, "api_error");
    }
    return r.error ? r.error->message : "";
  };
  std::string m = error_of(chunk(R"({"content":"a"})") + "data: {\"choices\":[{\"delta\":{\"content\":\n\n");
  EXPECT_NE(m.find("not a JSON object"), std::string::npos) << m;
  EXPECT_NE(m.find("{\"choices\""), std::string::npos) << "quotes the chunk: " << m;
  m = error_of(chunk(R"({"content":7})"));
  EXPECT_NE(m.find("\"content\""), std::string::npos) << m;
  m = error_of(chunk(R"({"tool_calls":{"index":0}})"));
  EXPECT_NE(m.find("\"tool_calls\""), std::string::npos) << m;
  m = error_of(chunk(R"({"tool_calls":[{"index":0,"id":"c","function":{"arguments":"{}"}}]})") +
               chunk("{}", "\"tool_calls\""));
  EXPECT_NE(m.find("no function name"), std::string::npos) << m;
  m = error_of(chunk(R"({"tool_calls":[{"index":1,"id":"c","function":{"name":"f"}}]})") +
               chunk(R"({"tool_calls":[{"index":0,"id":"d","function":{"name":"g"}}]})"));
  EXPECT_NE(m.find("tool call 0"), std::string::npos) << m;
  m = error_of("data: {\"choices\": 3}\n\n");
  EXPECT_NE(m.find("\"choices\""), std::string::npos) << m;
  m = error_of(chunk(R"({"content":"x"})", "\"abort\""));
  EXPECT_NE(m.find("aborted"), std::string::npos) << m;
  m = error_of("data: {\"choices\":[{\"delta\":{\"content\":\"" + std::string(std::size_t{17} << 20, 'a'));
  EXPECT_NE(m.find("longer than 16 MiB"), std::string::npos)
      << "a runaway line is not kept: " << m.substr(0, 100);
  const Read body = read("{\"choices\": [", false);
  ASSERT_TRUE(body.error.has_value());
  EXPECT_EQ(body.error->http_status, 502);
}

TEST(CompletionReader, StreamCutBeforeItsEnd) {
  // Cut inside a tool call's arguments, and in the middle of a line.
  const std::string sse =
      chunk(R"({"content":"Let me check."})") +
      chunk(R"({"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{\"a\":"}}]})") +
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"func";
  const Read r = read(sse, true, 1);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->http_status, 502);
  EXPECT_NE(r.error->message.find("ended before it finished"), std::string::npos) << r.error->message;
  EXPECT_FALSE(r.finished);
  EXPECT_FALSE(r.stop.has_value());
  EXPECT_EQ(r.events,
            (std::vector<ChatEvent>{delta(ChatEventKind::kText, "Let me check."), start("c", "f"),
                                    delta(ChatEventKind::kToolCallArguments, "{\"a\":"), end(false)}));
  // A last event without its blank line still counts when the stream then ends.
  const Read last = read(chunk(R"({"content":"x"})") + "data: [DONE]", true);
  EXPECT_FALSE(last.error);
  EXPECT_TRUE(last.finished);
}

}  // namespace
}  // namespace pensieve::upstream
