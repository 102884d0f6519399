#include "api/message_builder.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace pensieve::api {
namespace {

using nlohmann::json;

struct Frame {
  std::string event;
  json data;
};

// Splits an SSE byte stream the way a client does; every frame must have an event line.
std::vector<Frame> parse_sse(const std::string& stream) {
  std::vector<Frame> frames;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t end = stream.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos);
    if (end == std::string::npos) break;
    std::istringstream lines(stream.substr(pos, end - pos));
    Frame f;
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("event: ", 0) == 0) f.event = line.substr(7);
      if (line.rfind("data: ", 0) == 0) f.data = json::parse(line.substr(6));
    }
    EXPECT_FALSE(f.event.empty());
    EXPECT_EQ(f.event, f.data["type"]);
    frames.push_back(std::move(f));
    pos = end + 2;
  }
  return frames;
}

TEST(MessageBuilder, StreamingEventOrderAndIndexes) {
  MessageBuilder b("msg_1", "m", Usage{12, 0, 0, 0}, true);
  std::string out;
  b.start(out);
  b.thinking("let me ", out);
  b.thinking("think", out);
  b.text("Hello", out);
  b.text(", world", out);
  b.tool_use_start("toolu_1", "get", out);
  b.tool_use_input("{\"a\":", out);
  b.tool_use_input("1}", out);
  b.finish(StopReason::kToolUse, std::nullopt, 9, out);

  auto frames = parse_sse(out);
  std::vector<std::string> events;
  for (auto& f : frames) {
    std::ostringstream e;
    e << f.event;
    if (f.data.contains("delta") && f.data["delta"].contains("type")) e << ':' << f.data["delta"]["type"].get<std::string>();
    events.push_back(e.str());
  }
  EXPECT_EQ(events, (std::vector<std::string>{
                        "message_start",
                        "content_block_start", "content_block_delta:thinking_delta", "content_block_delta:thinking_delta",
                        "content_block_delta:signature_delta", "content_block_stop",
                        "content_block_start", "content_block_delta:text_delta", "content_block_delta:text_delta",
                        "content_block_stop",
                        "content_block_start", "content_block_delta:input_json_delta",
                        "content_block_delta:input_json_delta", "content_block_stop",
                        "message_delta", "message_stop"}));
  EXPECT_EQ(frames[0].data["message"]["usage"]["input_tokens"], 12);
  EXPECT_EQ(frames[0].data["message"]["content"], json::array());
  EXPECT_EQ(frames[1].data["index"], 0);
  EXPECT_EQ(frames[6].data["index"], 1);
  EXPECT_EQ(frames[10].data["index"], 2);
  EXPECT_EQ(frames[10].data["content_block"]["name"], "get");
  EXPECT_EQ(frames[14].data["delta"]["stop_reason"], "tool_use");
  EXPECT_EQ(frames[14].data["usage"]["output_tokens"], 9);

  // The streamed pieces reassemble to the same message the non-streaming path returns.
  auto m = b.message();
  EXPECT_EQ(m["content"][0]["thinking"], "let me think");
  EXPECT_EQ(m["content"][0]["signature"], frames[4].data["delta"]["signature"]);
  EXPECT_EQ(m["content"][1]["text"], "Hello, world");
  EXPECT_EQ(m["content"][2]["input"], json::parse(R"({"a":1})"));
  EXPECT_EQ(m["stop_reason"], "tool_use");
  EXPECT_EQ(m["usage"]["input_tokens"], 12);
  EXPECT_EQ(m["usage"]["output_tokens"], 9);
}

// Delta frames are written by hand, not through a JSON value: byte for byte what nlohmann::json
// writes for the same frame, for every character class a piece may hold; broken UTF-8 (a bug
// upstream) becomes U+FFFD rather than an exception or invalid JSON.
TEST(MessageBuilder, DeltaFramesAreTheBytesAJsonLibraryWrites) {
  std::string all_controls;
  for (char c = 1; c < 0x20; ++c) all_controls += c;
  for (const std::string& piece :
       {std::string("plain"), std::string("quote \" backslash \\ slash /"), all_controls,
        std::string("tab\tnew\nline\r"), std::string("Übersicht 日本語 😀"), std::string("\x7f del"),
        std::string("a\0b", 3)}) {
    MessageBuilder b("msg_e", "m", Usage{}, true);
    std::string out;
    b.start(out);
    b.text("x", out);  // opens the block
    out.clear();
    b.text(piece, out);
    const std::string expected = sse_frame(
        "content_block_delta",
        nlohmann::ordered_json{{"type", "content_block_delta"},
                               {"index", 0},
                               {"delta", nlohmann::ordered_json{{"type", "text_delta"}, {"text", piece}}}});
    EXPECT_EQ(out, expected) << piece;
  }
  for (const std::string& broken : {std::string("a\xff"
                                                "b"),
                                    std::string("\xc3"), std::string("\xed\xa0\x80")}) {
    MessageBuilder b("msg_u", "m", Usage{}, true);
    std::string out;
    b.start(out);
    b.text(broken, out);
    const auto frames = parse_sse(out);
    ASSERT_EQ(frames.size(), 3u);
    const std::string text = frames[2].data["delta"]["text"].get<std::string>();
    EXPECT_NE(text.find("\xEF\xBF\xBD"), std::string::npos) << text;
  }
}

TEST(MessageBuilder, NonStreamingWritesNothingAndKeepsStopSequence) {
  MessageBuilder b("msg_2", "m", Usage{3, 0, 0, 0}, false);
  std::string out;
  b.start(out);
  b.text("abc", out);
  b.finish(StopReason::kStopSequence, "###", 2, out);
  EXPECT_TRUE(out.empty());
  auto m = b.message();
  EXPECT_EQ(m["stop_reason"], "stop_sequence");
  EXPECT_EQ(m["stop_sequence"], "###");
  EXPECT_EQ(m["content"].size(), 1u);
}

// The prompt splits three ways, summing to the whole; figures beyond the prompt are clamped so
// the split never claims more tokens than the prompt had.
TEST(MessageBuilder, PromptSplitsIntoReadWrittenAndTheRest) {
  MessageBuilder b("msg_4", "m", Usage{100, 0, 0, 0}, true);
  std::string out;
  b.start(out);
  b.prompt_cache(64, 30);
  b.finish(StopReason::kEndTurn, std::nullopt, 1, out);
  const std::vector<Frame> frames = parse_sse(out);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].data["message"]["usage"]["input_tokens"], 100);  // known before the cache is
  EXPECT_EQ(frames[1].data["usage"], json::parse(R"({"input_tokens":6,"cache_creation_input_tokens":30,
                                                     "cache_read_input_tokens":64,"output_tokens":1})"));
  EXPECT_EQ(json::parse(b.message()["usage"].dump()), frames[1].data["usage"]);

  MessageBuilder over("msg_5", "m", Usage{10, 0, 0, 0}, false);
  over.prompt_cache(8, 5);
  over.finish(StopReason::kEndTurn, std::nullopt, 1, out);
  EXPECT_EQ(json::parse(over.message()["usage"].dump()),
            json::parse(R"({"input_tokens":0,"cache_creation_input_tokens":2,
                                                     "cache_read_input_tokens":8,"output_tokens":1})"));
}

TEST(MessageBuilder, AnEstimatedPromptIsCorrectedByTheEnd) {
  // Upstream mode: message_start had only an estimate; the upstream's count arrives last.
  MessageBuilder b("msg_6", "m", Usage{20, 0, 0, 0}, true);
  std::string out;
  b.prompt_cache(0, 0);
  b.start(out);
  b.prompt_tokens(7);
  b.prompt_cache(3, 0);
  b.finish(StopReason::kEndTurn, std::nullopt, 2, out);
  const std::vector<Frame> frames = parse_sse(out);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].data["message"]["usage"]["input_tokens"], 20);
  EXPECT_EQ(frames[1].data["usage"], json::parse(R"({"input_tokens":4,"cache_creation_input_tokens":0,
                                                     "cache_read_input_tokens":3,"output_tokens":2})"));
}

TEST(MessageBuilder, EmptyPiecesOpenNoBlock) {
  MessageBuilder b("msg_3", "m", Usage{}, true);
  std::string out;
  b.text("", out);
  b.thinking("", out);
  EXPECT_EQ(b.block_count(), 0u);
  EXPECT_TRUE(out.empty());
}

TEST(MessageBuilder, BrokenUtf8IsReplacedNotThrown) {
  MessageBuilder b("msg_4", "m", Usage{}, true);
  std::string out;
  b.text("a\xff", out);
  EXPECT_NE(out.find("a\xEF\xBF\xBD"), std::string::npos);
}

TEST(Sse, PingAndError) {
  EXPECT_EQ(ping_frame(), "event: ping\ndata: {\"type\":\"ping\"}\n\n");
  auto frames = parse_sse(error_frame(overloaded("busy")));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].data["error"]["type"], "overloaded_error");
}

TEST(Ids, PrefixAndLength) {
  auto a = random_id("msg_"), b = random_id("msg_");
  EXPECT_EQ(a.rfind("msg_", 0), 0u);
  EXPECT_EQ(a.size(), 28u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace pensieve::api
