// A Messages body's conversation, read into its typed form in the validation's walk.
#include "api/conversation_reader.hpp"

#include <gtest/gtest.h>

#include "api/messages_request.hpp"

namespace pensieve::api {
namespace {

using nlohmann::ordered_json;

MessagesRequest parsed(const char* body) {
  auto p = parse_messages_request(std::string_view(body), RequestKind::kCountTokens);
  EXPECT_FALSE(p.error) << p.error->message;
  return p.request ? *p.request : MessagesRequest{};
}

TEST(ConversationReader, ReadsEveryBlockIntoItsType) {
  const MessagesRequest r = parsed(R"({"model": "m", "system": "Be brief.", "messages": [
    {"role": "user", "content": [{"type": "text", "text": "Look"}, {"type": "image", "source": {}}]},
    {"role": "assistant", "content": [
      {"type": "thinking", "thinking": "hm", "signature": "s"}, {"type": "redacted_thinking", "data": "x"},
      {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {}},
      {"type": "tool_use", "id": "t1", "name": "f", "input": {"b": 1, "a": 2}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "is_error": true,
      "content": ["bare", {"type": "text", "text": "two"}, {"type": "document", "source": {}}, {"type": "search_result"}]}]}],
    "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object", "properties": {"z": {}, "a": {}}}},
              {"type": "web_search_20250305", "name": "web_search"}],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": true}})");
  const chat::Conversation& c = r.conversation;
  ASSERT_TRUE(c.system.has_value());
  EXPECT_TRUE(c.system->bare_text);
  EXPECT_EQ(std::get<chat::TextBlock>(c.system->blocks.at(0)).text, "Be brief.");

  ASSERT_EQ(c.messages.size(), 3u);
  EXPECT_EQ(c.messages[0].role, chat::Role::kUser);
  EXPECT_FALSE(c.messages[0].content.bare_text);
  EXPECT_TRUE(std::holds_alternative<chat::ImageBlock>(c.messages[0].content.blocks.at(1)));

  const auto& assistant = c.messages[1].content.blocks;
  ASSERT_EQ(assistant.size(), 4u);
  EXPECT_EQ(std::get<chat::ThinkingBlock>(assistant[0]).thinking, "hm");
  EXPECT_TRUE(std::holds_alternative<chat::RedactedThinkingBlock>(assistant[1]));
  EXPECT_EQ(chat::block_type(assistant[2]), "server_tool_use");  // run at Anthropic: no typed call
  const auto& call = std::get<chat::ToolUseBlock>(assistant[3]);
  EXPECT_EQ(call.input.dump(), R"({"b":1,"a":2})") << "the client's key order";

  const auto& result = std::get<chat::ToolResultBlock>(c.messages[2].content.blocks.at(0));
  EXPECT_EQ(result.tool_use_id, "t1");
  EXPECT_TRUE(result.is_error);
  ASSERT_EQ(result.content.size(), 4u);
  EXPECT_EQ(std::get<chat::TextBlock>(result.content[0]).text, "bare");
  EXPECT_EQ(std::get<chat::TextBlock>(result.content[1]).text, "two");
  EXPECT_EQ(chat::block_type(result.content[2]), "document");
  EXPECT_EQ(chat::block_type(result.content[3]), "search_result");

  ASSERT_EQ(c.tools.size(), 2u);
  EXPECT_EQ(c.tools[0].description, "d");
  EXPECT_EQ(c.tools[0].input_schema->dump(), R"({"type":"object","properties":{"z":{},"a":{}}})");
  EXPECT_FALSE(c.tools[1].input_schema.has_value());
  EXPECT_EQ(c.tool_choice.mode, chat::ToolChoiceMode::kAny);
  EXPECT_TRUE(c.tool_choice.disable_parallel_tool_use);
  EXPECT_TRUE(c.tool_choice.forces_a_call());
}

TEST(ConversationReader, RefusesWhatTheMappingCouldNotRead) {
  const auto error_of = [](const char* body) {
    auto p = parse_messages_request(std::string_view(body), RequestKind::kCountTokens);
    return p.error ? p.error->message : std::string();
  };
  EXPECT_EQ(error_of(R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
    "tools": [{"name": "f", "input_schema": "object"}]})"),
            "tools.0.custom.input_schema: Input should be a valid dictionary");
  EXPECT_EQ(error_of(R"({"model": "m", "messages": [
    {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text"}]}]}]})"),
            "messages.1.content.0.content.0.text: Field required");
}

}  // namespace
}  // namespace pensieve::api
