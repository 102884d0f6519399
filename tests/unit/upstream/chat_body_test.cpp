// An Anthropic request as the chat-completions body sent upstream: the JSON where it matters
// (messages, tool calls and results, tools and tool_choice, sampling, thinking, output schema),
// what is refused, and a round trip through pensieve's own OpenAI reader — the honest check that
// pensieve is a valid upstream.
#include "upstream/chat_body.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "chat/anthropic_mapping.hpp"
#include "openai/chat_request.hpp"

namespace pensieve::upstream {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

api::MessagesRequest request_of(const std::string& body) {
  auto parsed = api::parse_messages_request(std::string_view(body), api::RequestKind::kCreate);
  EXPECT_FALSE(parsed.error) << (parsed.error ? parsed.error->message : "");
  return parsed.request ? *parsed.request : api::MessagesRequest{};
}

// Unordered, so that a test states the values and not the key order (key order inside strings,
// such as tool arguments, is still compared).
json body_of(const api::MessagesRequest& r) {
  return json::parse(chat_completion_body(r, "qwen3-8b").dump());
}

const char* kConversation = R"({
  "model": "claude-sonnet-4", "max_tokens": 300, "stream": false,
  "system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=1.0; cch=abc"},
             {"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use tools."}],
  "thinking": {"type": "enabled", "budget_tokens": 2048},
  "temperature": 0.5, "top_p": 0.9, "top_k": 40, "stop_sequences": ["END"],
  "tools": [{"name": "get_time", "description": "The time in a zone",
             "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}, "fmt": {"type": "string"}}}},
            {"name": "noop", "input_schema": {"type": "object"}}],
  "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
  "messages": [
    {"role": "user", "content": "What time is it in Paris and Tokyo?"},
    {"role": "assistant", "content": [
      {"type": "thinking", "thinking": "Two zones.", "signature": "sig"},
      {"type": "text", "text": "Checking."},
      {"type": "tool_use", "id": "toolu_1", "name": "get_time", "input": {"tz": "Europe/Paris", "fmt": "24h"}},
      {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {"tz": "Asia/Tokio"}}]},
    {"role": "user", "content": [
      {"type": "text", "text": "Here:"},
      {"type": "tool_result", "tool_use_id": "toolu_1", "content": "12:00"},
      {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true,
       "content": [{"type": "text", "text": "unknown zone"}, {"type": "text", "text": "did you mean Asia/Tokyo?"}]},
      {"type": "text", "text": "And London?"}]},
    {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "opaque"},
                                      {"type": "text", "text": "London is 11:00."}]},
    {"role": "user", "content": [{"type": "text", "text": "Thanks."}]},
    {"role": "user", "content": "Bye."}]})";

TEST(ChatBody, ConversationBecomesOpenAIMessages) {
  const json body = body_of(request_of(kConversation));
  const json expected = json::parse(R"([
    {"role": "system", "content": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use tools."}]},
    {"role": "user", "content": "What time is it in Paris and Tokyo?"},
    {"role": "assistant", "content": "Checking.", "reasoning_content": "Two zones.", "tool_calls": [
      {"id": "toolu_1", "type": "function",
       "function": {"name": "get_time", "arguments": "{\"tz\":\"Europe/Paris\",\"fmt\":\"24h\"}"}},
      {"id": "toolu_2", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"Asia/Tokio\"}"}}]},
    {"role": "tool", "tool_call_id": "toolu_1", "content": "12:00"},
    {"role": "tool", "tool_call_id": "toolu_2",
     "content": [{"type": "text", "text": "unknown zone"}, {"type": "text", "text": "did you mean Asia/Tokyo?"}]},
    {"role": "user", "content": [{"type": "text", "text": "Here:"}, {"type": "text", "text": "And London?"}]},
    {"role": "assistant", "content": "London is 11:00."},
    {"role": "user", "content": [{"type": "text", "text": "Thanks."}, {"type": "text", "text": "Bye."}]}])");
  EXPECT_EQ(body["messages"], expected) << body["messages"].dump(1);
  EXPECT_EQ(body["model"], "qwen3-8b");
  EXPECT_EQ(body["max_tokens"], 300);
  EXPECT_EQ(body["temperature"], 0.5);
  EXPECT_EQ(body["top_p"], 0.9);
  EXPECT_EQ(body["top_k"], 40);
  EXPECT_FALSE(body.contains("seed"));
  EXPECT_FALSE(body.contains("stop")) << "the front matches stop sequences itself";
  EXPECT_EQ(body["stream"], true) << "the front always streams from its upstream";
  EXPECT_EQ(body["stream_options"], json::parse(R"({"include_usage": true})"));
  EXPECT_EQ(body["chat_template_kwargs"], json::parse(R"({"enable_thinking": true})"));
  EXPECT_FALSE(body.contains("response_format"));
  EXPECT_EQ(body["tools"], json::parse(R"([
    {"type": "function", "function": {"name": "get_time", "description": "The time in a zone",
      "parameters": {"type": "object", "properties": {"tz": {"type": "string"}, "fmt": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}}])"));
  EXPECT_EQ(body["tool_choice"], "auto");
  EXPECT_EQ(body["parallel_tool_calls"], false);
  // The schema keeps the client's key order, which templates print.
  const ordered_json ordered = chat_completion_body(request_of(kConversation), "m");
  EXPECT_EQ(ordered["tools"][0]["function"]["parameters"]["properties"].dump(),
            R"({"tz":{"type":"string"},"fmt":{"type":"string"}})");
}

std::string with_tools(const std::string& choice) {
  return R"({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
    "tools": [{"name": "t", "input_schema": {"type": "object"}}], "tool_choice": )" +
         choice + "}";
}

TEST(ChatBody, ToolChoices) {
  EXPECT_EQ(body_of(request_of(with_tools(R"({"type": "any"})")))["tool_choice"], "required");
  EXPECT_EQ(body_of(request_of(with_tools(R"({"type": "none"})")))["tool_choice"], "none");
  const json named = body_of(request_of(with_tools(R"({"type": "tool", "name": "t"})")));
  EXPECT_EQ(named["tool_choice"], json::parse(R"({"type": "function", "function": {"name": "t"}})"));
  EXPECT_FALSE(named.contains("parallel_tool_calls")) << "parallel calls are the default";
  const json no_tools =
      body_of(request_of(R"({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
                     "tool_choice": {"type": "auto", "disable_parallel_tool_use": true}})"));
  EXPECT_FALSE(no_tools.contains("tools"));
  EXPECT_FALSE(no_tools.contains("tool_choice"));
  EXPECT_FALSE(no_tools.contains("parallel_tool_calls"));
}

TEST(ChatBody, ThinkingOffOutputSchemaSeedAndAbsentSampling) {
  api::MessagesRequest r = request_of(R"({"model": "m", "max_tokens": 64, "top_k": 0,
      "system": "x-anthropic-billing-header: cc=1\nAnswer in JSON.",
      "output_config": {"format": {"type": "json_schema", "schema": {"type": "object",
        "properties": {"b": {"type": "integer"}, "a": {"type": "string"}}, "required": ["b", "a"]}}},
      "messages": [{"role": "user", "content": "Give me a and b."},
                   {"role": "assistant", "content": "{"}]})");
  r.seed = 1234;  // OpenAI's field; an OpenAI request routed upstream carries it
  const json body = body_of(r);
  EXPECT_EQ(body["chat_template_kwargs"], json::parse(R"({"enable_thinking": false})"));
  EXPECT_EQ(body["response_format"], json::parse(R"({"type": "json_schema", "json_schema": {"name": "output",
      "schema": {"type": "object", "properties": {"b": {"type": "integer"}, "a": {"type": "string"}},
                 "required": ["b", "a"]}, "strict": true}})"));
  EXPECT_EQ(body["seed"], 1234);
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_FALSE(body.contains("top_p"));
  EXPECT_FALSE(body.contains("top_k")) << "0 is no limit";
  EXPECT_EQ(body["messages"], json::parse(R"([{"role": "system", "content": "Answer in JSON."},
      {"role": "user", "content": "Give me a and b."}, {"role": "assistant", "content": "{"}])"))
      << "a system string loses only its billing-header line";
}

TEST(ChatBody, EmptyFinalAssistantMessageIsLeftOut) {
  const json body = body_of(request_of(R"({"model": "m", "max_tokens": 8, "messages": [
      {"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]})"));
  EXPECT_EQ(body["messages"], json::parse(R"([{"role": "user", "content": "hi"}])"));
}

TEST(ChatBody, ToolCallsWithoutTextHaveNullContent) {
  const json body = body_of(request_of(R"({"model": "m", "max_tokens": 8, "messages": [
      {"role": "user", "content": "go"},
      {"role": "assistant", "content": [{"type": "tool_use", "id": "c", "name": "t", "input": {}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c"}]}]})"));
  EXPECT_EQ(body["messages"][1], json::parse(R"({"role": "assistant", "content": null, "tool_calls": [
      {"id": "c", "type": "function", "function": {"name": "t", "arguments": "{}"}}]})"));
  EXPECT_EQ(body["messages"][2], json::parse(R"({"role": "tool", "tool_call_id": "c", "content": ""})"))
      << "an empty result is an empty string";
  EXPECT_EQ(body["messages"].size(), 3u);
}

// What a conversation says, as JSON, leaving out what cannot survive an OpenAI body: redacted
// thinking, the is_error flag (OpenAI has none), whether text came as a string.
json described(const chat::Content& content) {
  json blocks = json::array();
  for (const chat::ContentBlock& b : content.blocks) {
    if (const auto* t = std::get_if<chat::TextBlock>(&b)) {
      blocks.push_back({{"text", t->text}});
    } else if (const auto* t = std::get_if<chat::ThinkingBlock>(&b)) {
      blocks.push_back({{"thinking", t->thinking}});
    } else if (const auto* c = std::get_if<chat::ToolUseBlock>(&b)) {
      blocks.push_back({{"call", c->id}, {"name", c->name}, {"input", json::parse(c->input.dump())}});
    } else if (const auto* r = std::get_if<chat::ToolResultBlock>(&b)) {
      json parts = json::array();
      for (const auto& p : r->content) parts.push_back(std::get<chat::TextBlock>(p).text);
      blocks.push_back({{"result", r->tool_use_id}, {"parts", parts}});
    } else if (!std::holds_alternative<chat::RedactedThinkingBlock>(b)) {
      blocks.push_back({{"other", std::string(chat::block_type(b))}});
    }
  }
  return blocks;
}

json described(const api::MessagesRequest& r) {
  const chat::Conversation& c = r.conversation;
  json d;
  d["system"] = c.system ? described(*c.system) : json();
  d["messages"] = json::array();
  for (const chat::Message& m : c.messages)
    d["messages"].push_back(
        {{"role", std::string(chat::role_name(m.role))}, {"content", described(m.content)}});
  d["tools"] = json::array();
  for (const chat::Tool& t : c.tools)
    d["tools"].push_back({{"name", t.name},
                          {"description", t.description ? json(*t.description) : json()},
                          {"schema", json::parse(t.input_schema->dump())}});
  d["tool_choice"] = {{"mode", static_cast<int>(c.tool_choice.mode)},
                      {"name", c.tool_choice.name},
                      {"no_parallel", c.tool_choice.disable_parallel_tool_use}};
  d["thinking"] = r.thinking;
  d["max_tokens"] = r.max_tokens;
  d["temperature"] = r.temperature ? json(*r.temperature) : json();
  d["top_p"] = r.top_p ? json(*r.top_p) : json();
  d["top_k"] = r.top_k ? json(*r.top_k) : json();
  d["seed"] = r.seed ? json(*r.seed) : json();
  d["output_schema"] = r.output_schema ? json::parse(r.output_schema->dump()) : json();
  return d;
}

// Merges consecutive user turns (as Anthropic's API does, and the body does) and drops the
// billing-header block, so that the original can be compared with what comes back.
api::MessagesRequest normalized(api::MessagesRequest r) {
  auto& messages = r.conversation.messages;
  std::vector<chat::Message> merged;
  for (chat::Message& m : messages) {
    if (!merged.empty() && merged.back().role == m.role) {
      for (auto& b : m.content.blocks) merged.back().content.blocks.push_back(std::move(b));
    } else {
      merged.push_back(std::move(m));
    }
  }
  messages = std::move(merged);
  // The tool results of a user turn go first, its text after them.
  for (chat::Message& m : messages) {
    std::stable_partition(m.content.blocks.begin(), m.content.blocks.end(), [](const chat::ContentBlock& b) {
      return std::holds_alternative<chat::ToolResultBlock>(b);
    });
  }
  if (r.conversation.system) {
    auto& blocks = r.conversation.system->blocks;
    std::erase_if(blocks, [](const chat::ContentBlock& b) {
      const auto* t = std::get_if<chat::TextBlock>(&b);
      return t != nullptr && t->text.starts_with("x-anthropic-billing-header:");
    });
  }
  return r;
}

api::MessagesRequest round_trip(const api::MessagesRequest& original) {
  const std::string body = chat_completion_body(original, "m").dump();
  const auto parsed = openai::parse_chat_request(body);
  EXPECT_FALSE(parsed.error) << (parsed.error ? parsed.error->message : "") << "\n" << body;
  if (!parsed.chat) return {};
  EXPECT_TRUE(parsed.chat->request.stream);
  EXPECT_TRUE(parsed.chat->include_usage);
  EXPECT_TRUE(parsed.chat->request.stop_sequences.empty());
  return parsed.chat->request;
}

TEST(ChatBody, PensieveReadsTheBodyBackAsTheSameRequest) {
  api::MessagesRequest original = request_of(kConversation);
  original.seed = 99;
  const json want = described(normalized(original));
  EXPECT_EQ(described(round_trip(original)), want);
  // The fixture does hold what the comparison is about.
  EXPECT_EQ(want["messages"].size(), 5u);
  EXPECT_EQ(want["messages"][2]["content"][1]["result"], "toolu_2");
  EXPECT_EQ(want["thinking"], true);

  for (const std::string choice :
       {R"({"type": "any"})", R"({"type": "none"})", R"({"type": "tool", "name": "t"})",
        R"({"type": "auto", "disable_parallel_tool_use": true})"}) {
    const api::MessagesRequest r = request_of(with_tools(choice));
    EXPECT_EQ(described(round_trip(r)), described(normalized(r))) << choice;
  }
  const api::MessagesRequest r = request_of(R"({"model": "m", "max_tokens": 64,
      "system": "Be terse.",
      "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
      "messages": [{"role": "user", "content": "x"}]})");
  const api::MessagesRequest back = round_trip(r);
  EXPECT_FALSE(back.thinking) << "thinking off survives (pensieve's reader defaults to on)";
  EXPECT_EQ(described(back), described(normalized(r)));
}

std::string refusal(const std::string& body) {
  const auto error = check_forwardable(request_of(body));
  EXPECT_TRUE(error.has_value()) << body;
  if (!error) return "";
  EXPECT_EQ(error->http_status, 400);
  EXPECT_EQ(error->type, "invalid_request_error");
  return error->message;
}

TEST(ChatBody, CheckForwardableNamesWhatCannotGo) {
  EXPECT_FALSE(check_forwardable(request_of(kConversation)).has_value());
  const std::string m = refusal(R"({"model": "m", "max_tokens": 5, "messages": [
      {"role": "user", "content": "search"},
      {"role": "assistant", "content": [{"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}]},
      {"role": "user", "content": "go on"}]})");
  EXPECT_NE(m.find("messages[1].content[0]"), std::string::npos) << m;
  EXPECT_NE(m.find("\"server_tool_use\""), std::string::npos) << m;
}

// As the local engine does: images and documents become its placeholders, server tools stay out.
TEST(ChatBody, ImagesDocumentsAndServerToolsGoAsTheLocalEngineShowsThem) {
  const auto request = request_of(R"({"model": "m", "max_tokens": 5, "messages": [
      {"role": "user", "content": [{"type": "text", "text": "look"},
          {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}]},
      {"role": "assistant", "content": [{"type": "tool_use", "id": "c", "name": "read", "input": {}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c", "content": [
          {"type": "text", "text": "the file:"},
          {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}]}]}],
      "tools": [{"name": "read", "input_schema": {"type": "object"}},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]})");
  EXPECT_FALSE(check_forwardable(request).has_value());
  const json body = json::parse(chat_completion_body(request, "up").dump());
  const json& messages = body["messages"];
  ASSERT_EQ(messages.size(), 3u) << body.dump();
  EXPECT_EQ(messages[0]["content"][1]["text"], std::string(chat::kImagePlaceholder));
  EXPECT_EQ(messages[2]["role"], "tool");
  EXPECT_EQ(messages[2]["content"][1]["text"], std::string(chat::kDocumentPlaceholder));
  ASSERT_EQ(body["tools"].size(), 1u);
  EXPECT_EQ(body["tools"][0]["function"]["name"], "read");
}

}  // namespace
}  // namespace pensieve::upstream
