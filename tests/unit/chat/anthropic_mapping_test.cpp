// Anthropic Messages requests → chat-template contexts.
#include "chat/anthropic_mapping.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/conversation_from_body.hpp"

namespace pensieve::chat {
namespace {

using pensieve::testing::context_from_body;

using json = nlohmann::ordered_json;  // key order matters to templates

json conversations() {
  std::ifstream in(std::string(PENSIEVE_FIXTURES) + "/chat/conversations.json");
  EXPECT_TRUE(in.good()) << "missing fixture conversations.json";
  return json::parse(in)["conversations"];
}

json map_ok(const json& request, TemplateFamily family = TemplateFamily::kGeneric) {
  auto context = context_from_body(request, {family});
  EXPECT_TRUE(context.ok()) << (context.ok() ? "" : context.error().message);
  return context.ok() ? context.value() : json();
}

// The Anthropic form of the fixture conversations must map onto exactly the template-level form
// the fixtures render.
TEST(AnthropicMapping, FixtureConversationsFromAnthropicForm) {
  const json fixtures = conversations();
  const json system_user = json::parse(R"({"system": "You are a terse assistant. Answer in one line.",
    "messages": [{"role": "user", "content": "What is 2+2?"}]})");
  EXPECT_EQ(map_ok(system_user)["messages"], fixtures["system_user"]["messages"]);
  EXPECT_TRUE(map_ok(system_user)["tools"].is_null());

  const json tool_roundtrip = json::parse(R"({
    "tools": [{"name": "get_weather", "description": "Current weather for a city.",
      "input_schema": {"type": "object", "properties": {"location": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["location"]}}],
    "messages": [
      {"role": "user", "content": "What's the weather in Paris and in Oslo?"},
      {"role": "assistant", "content": [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"location": "Paris", "unit": "celsius"}},
        {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"location": "Oslo"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "{\"temp\": 18, \"sky\": \"clear\"}"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "{\"temp\": 4, \"sky\": \"rain\"}"}]}]},
      {"role": "assistant", "content": [{"type": "text", "text": "Paris: 18°C and clear. Oslo: 4°C with rain."}]},
      {"role": "user", "content": [{"type": "text", "text": "Thanks. Now read /etc/hostname."}]}]})");
  const json mapped = map_ok(tool_roundtrip);
  EXPECT_EQ(mapped["messages"], fixtures["tool_roundtrip"]["messages"]);
  EXPECT_EQ(mapped["tools"], fixtures["tool_roundtrip"]["tools"]);

  const json reasoning = json::parse(R"({"messages": [
    {"role": "user", "content": "Is 91 prime?"},
    {"role": "assistant", "content": [{"type": "thinking", "thinking": "Try small divisors: 7 × 13 = 91.", "signature": "x"},
                                      {"type": "text", "text": "No: 91 = 7 × 13."}]},
    {"role": "user", "content": "And 97?"}]})");
  EXPECT_EQ(map_ok(reasoning)["messages"], fixtures["reasoning"]["messages"]);
}

TEST(AnthropicMapping, ClaudeCodeLikeRequest) {
  const json request = json::parse(R"({
    "model": "local", "max_tokens": 32000, "stream": true,
    "system": [
      {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.0.14.abc; cc_entrypoint=cli"},
      {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": {"type": "ephemeral"}},
      {"type": "text", "text": "You are an interactive CLI tool."}],
    "messages": [
      {"role": "system", "content": "Extra instructions."},
      {"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>Be careful.</system-reminder>"},
        {"type": "text", "text": "List the files.", "cache_control": {"type": "ephemeral"}}]},
      {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "I should run ls.", "signature": "sig"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "Running ls."},
        {"type": "tool_use", "id": "toolu_01A", "name": "Bash", "input": {"command": "ls", "description": "List"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01A", "is_error": true,
         "content": [{"type": "text", "text": "ls: permission denied"}]},
        {"type": "text", "text": "<system-reminder>Todo list is empty.</system-reminder>"}]},
      {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_01B", "name": "Read", "input": {"file_path": "/a.png"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01B",
         "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}]}]}],
    "tools": [
      {"name": "Bash", "description": "Runs a command.", "input_schema": {"type": "object",
        "properties": {"command": {"type": "string"}}, "required": ["command"]}},
      {"name": "Read", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}},
      {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}],
    "tool_choice": {"type": "auto"}})");
  const json expected = json::parse(R"({
    "messages": [
      {"role": "system", "content": "You are Claude Code, Anthropic's official CLI for Claude.\n\nYou are an interactive CLI tool.\n\nExtra instructions."},
      {"role": "user", "content": "<system-reminder>Be careful.</system-reminder>\n\nList the files."},
      {"role": "assistant", "content": "Running ls.", "reasoning_content": "I should run ls.",
       "tool_calls": [{"id": "toolu_01A", "type": "function", "function": {"name": "Bash", "arguments": {"command": "ls", "description": "List"}}}]},
      {"role": "tool", "tool_call_id": "toolu_01A", "name": "Bash", "content": "ls: permission denied", "is_error": true},
      {"role": "user", "content": "<system-reminder>Todo list is empty.</system-reminder>"},
      {"role": "assistant", "content": "",
       "tool_calls": [{"id": "toolu_01B", "type": "function", "function": {"name": "Read", "arguments": {"file_path": "/a.png"}}}]},
      {"role": "tool", "tool_call_id": "toolu_01B", "name": "Read", "content": "[image omitted: this model cannot see images]"}],
    "tools": [
      {"type": "function", "function": {"name": "Bash", "description": "Runs a command.", "parameters": {"type": "object",
        "properties": {"command": {"type": "string"}}, "required": ["command"]}}},
      {"type": "function", "function": {"name": "Read", "parameters": {"type": "object", "properties": {"file_path": {"type": "string"}}}}}]})");
  EXPECT_EQ(map_ok(request), expected);
}

TEST(AnthropicMapping, BillingHeaderInAPlainSystemStringLosesOnlyItsLine) {
  const json request = json::parse(R"({"system": "x-anthropic-billing-header: cc_version=1\nBe brief.",
    "messages": [{"role": "user", "content": "Hi"}]})");
  EXPECT_EQ(map_ok(request)["messages"][0], json::parse(R"({"role": "system", "content": "Be brief."})"));
  const json only_header = json::parse(R"({"system": [{"type": "text", "text": "x-anthropic-billing-header: a"}],
    "messages": [{"role": "user", "content": "Hi"}]})");
  EXPECT_EQ(map_ok(only_header)["messages"], json::parse(R"([{"role": "user", "content": "Hi"}])"));
}

TEST(AnthropicMapping, ToolChoiceNoneOffersNoTools) {
  const json request = json::parse(R"({"messages": [{"role": "user", "content": "Hi"}],
    "tools": [{"name": "f", "input_schema": {"type": "object"}}], "tool_choice": {"type": "none"}})");
  EXPECT_TRUE(map_ok(request)["tools"].is_null());
}

TEST(AnthropicMapping, MistralIdsAreNineAlphanumericsAndConsistent) {
  const json request = json::parse(R"({"messages": [
    {"role": "user", "content": "Go"},
    {"role": "assistant", "content": [
      {"type": "tool_use", "id": "toolu_01XyZ", "name": "f", "input": {}},
      {"type": "tool_use", "id": "toolu_02XyZ", "name": "g", "input": {"a": 1}},
      {"type": "tool_use", "id": "abcDEF123", "name": "h", "input": {}}]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_02XyZ", "content": "two"},
      {"type": "tool_result", "tool_use_id": "toolu_01XyZ", "content": "one"},
      {"type": "tool_result", "tool_use_id": "abcDEF123", "content": "three"}]}]})");
  const json context = map_ok(request, TemplateFamily::kMistral);
  const json& calls = context["messages"][1]["tool_calls"];
  std::set<std::string> ids;
  for (const auto& call : calls) {
    const std::string id = call["id"];
    EXPECT_EQ(id.size(), 9u);
    EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(calls[2]["id"], "abcDEF123");  // already valid: kept
  EXPECT_EQ(context["messages"][2]["tool_call_id"], calls[1]["id"]);
  EXPECT_EQ(context["messages"][3]["tool_call_id"], calls[0]["id"]);
  EXPECT_EQ(context["messages"][4]["tool_call_id"], calls[2]["id"]);
  // Other families keep the ids as sent.
  EXPECT_EQ(map_ok(request)["messages"][1]["tool_calls"][0]["id"], "toolu_01XyZ");
  // Stable: the same id maps the same way in every request.
  EXPECT_EQ(mistral_tool_call_id("toolu_01XyZ"), calls[0]["id"]);
}

TEST(AnthropicMapping, GptOssGetsThinkingField) {
  const json request = json::parse(R"({"messages": [
    {"role": "user", "content": "Q"},
    {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "A"}]},
    {"role": "user", "content": "Q2"},
    {"role": "assistant", "content": [{"type": "thinking", "thinking": "plan"}, {"type": "text", "text": "Calling."},
      {"type": "tool_use", "id": "t1", "name": "f", "input": {}}]}]})");
  const json context = map_ok(request, TemplateFamily::kGptOss);
  EXPECT_EQ(context["messages"][1]["thinking"], "hmm");
  EXPECT_FALSE(context["messages"][1].contains("reasoning_content"));
  EXPECT_FALSE(context["messages"][3].contains("thinking"));  // text and a call: the text is its analysis
}

TEST(AnthropicMapping, ConsecutiveSameRoleMessagesMerge) {
  const json request = json::parse(R"({"messages": [
    {"role": "user", "content": "One"}, {"role": "user", "content": [{"type": "text", "text": "Two"}]},
    {"role": "assistant", "content": "A"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]}]})");
  const json messages = map_ok(request)["messages"];
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0]["content"], "One\n\nTwo");
  EXPECT_EQ(messages[1]["content"], "A");
  EXPECT_EQ(messages[1]["tool_calls"].size(), 1u);
}

TEST(AnthropicMapping, ImagesBecomePlaceholders) {
  const json request = json::parse(R"({"messages": [{"role": "user", "content": [
    {"type": "text", "text": "What is this?"},
    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]}]})");
  EXPECT_EQ(map_ok(request)["messages"][0]["content"], "What is this?\n\n" + std::string(kImagePlaceholder));
}

TEST(AnthropicMapping, BadRequestsFailWithAMessage) {
  const char* bad[] = {
      R"([])",
      R"({"system": "x"})",
      R"({"messages": [{"role": "tool", "content": "x"}]})",
      R"({"messages": [{"role": "user"}]})",
      R"({"messages": [{"role": "user", "content": 5}]})",
      R"({"messages": [{"role": "user", "content": [{"type": "audio"}]}]})",
      R"({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": "x"}]}]})",
      R"({"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]})",
      R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"input_schema": {}}]})",
      R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})",
  };
  for (const char* body : bad) {
    const auto context = context_from_body(json::parse(body));
    ASSERT_FALSE(context.ok()) << body;
    EXPECT_FALSE(context.error().message.empty()) << body;
  }
  const auto unsupported =
      context_from_body(json::parse(R"({"messages": [{"role": "user", "content": [{"type": "audio"}]}]})"));
  ASSERT_FALSE(unsupported.ok());
  EXPECT_EQ(unsupported.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(unsupported.error().message.find("messages[0].content[0]"), std::string::npos);
}

}  // namespace
}  // namespace pensieve::chat
