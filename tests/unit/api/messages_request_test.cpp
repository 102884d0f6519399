#include "api/messages_request.hpp"

#include <gtest/gtest.h>

namespace pensieve::api {
namespace {

using nlohmann::json;

json base() {
  return json::parse(R"({"model":"claude-sonnet-4-5","max_tokens":64,
                         "messages":[{"role":"user","content":"hi"}]})");
}

std::string error_of(const json& body, RequestKind kind = RequestKind::kCreate) {
  auto parsed = parse_messages_request(body, kind);
  if (!parsed.error) return "";
  EXPECT_EQ(parsed.error->http_status, 400);
  EXPECT_EQ(parsed.error->type, "invalid_request_error");
  return parsed.error->message;
}

TEST(MessagesRequest, AcceptsMinimalAndEchoesFields) {
  auto body = base();
  body["stream"] = true;
  body["temperature"] = 0.5;
  body["top_k"] = 40;
  body["stop_sequences"] = {"###"};
  body["metadata"] = {{"user_id", "u"}};
  body["some_future_field"] = {1, 2, 3};
  auto parsed = parse_messages_request(body, RequestKind::kCreate);
  ASSERT_FALSE(parsed.error) << parsed.error->message;
  EXPECT_EQ(parsed.request->model, "claude-sonnet-4-5");
  EXPECT_EQ(parsed.request->max_tokens, 64);
  EXPECT_TRUE(parsed.request->stream);
  EXPECT_DOUBLE_EQ(*parsed.request->temperature, 0.5);
  EXPECT_EQ(*parsed.request->top_k, 40);
  EXPECT_EQ(parsed.request->stop_sequences, std::vector<std::string>{"###"});
}

TEST(MessagesRequest, MissingMaxTokens) {
  auto body = base();
  body.erase("max_tokens");
  EXPECT_EQ(error_of(body), "max_tokens: Field required");
  EXPECT_EQ(error_of(body, RequestKind::kCountTokens), "");  // count_tokens has no max_tokens
}

TEST(MessagesRequest, EmptyMessages) {
  auto body = base();
  body["messages"] = json::array();
  EXPECT_EQ(error_of(body), "messages: at least one message is required");
}

TEST(MessagesRequest, EmptyTextBlock) {
  auto body = base();
  body["messages"][0]["content"] = json::parse(R"([{"type":"text","text":""}])");
  EXPECT_EQ(error_of(body), "messages: text content blocks must be non-empty");
  body = base();
  body["system"] = json::parse(R"([{"type":"text","text":""}])");
  EXPECT_EQ(error_of(body), "system: text content blocks must be non-empty");
}

TEST(MessagesRequest, EmptyContentAllowedOnlyForFinalAssistant) {
  auto body = base();
  body["messages"][0]["content"] = "";
  EXPECT_EQ(error_of(body),
            "messages.0: all messages must have non-empty content except for the optional final assistant message");
  body = base();
  body["messages"].push_back({{"role", "assistant"}, {"content", ""}});
  EXPECT_EQ(error_of(body), "");
}

TEST(MessagesRequest, ToolUseWithoutResult) {
  auto body = base();
  body["messages"].push_back(json::parse(
      R"({"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]})"));
  body["messages"].push_back(json::parse(R"({"role":"user","content":"no result"})"));
  EXPECT_EQ(error_of(body),
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. "
            "Each `tool_use` block must have a corresponding `tool_result` block in the next message.");
}

TEST(MessagesRequest, ToolResultWithoutUse) {
  auto body = base();
  body["messages"][0]["content"] = json::parse(
      R"([{"type":"text","text":"x"},{"type":"tool_result","tool_use_id":"toolu_9","content":"r"}])");
  EXPECT_EQ(error_of(body),
            "messages.0.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9. "
            "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.");
}

TEST(MessagesRequest, ToolRoundTripAccepted) {
  auto body = base();
  body["tools"] = json::parse(R"([{"name":"f","description":"d","input_schema":{"type":"object"}},
                                   {"type":"web_search_20250305","name":"web_search"}])");
  body["tool_choice"] = json::parse(R"({"type":"tool","name":"f","disable_parallel_tool_use":true})");
  body["messages"].push_back(json::parse(
      R"({"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},
          {"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}]})"));
  body["messages"].push_back(json::parse(
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1",
          "content":[{"type":"text","text":"ok"}],"is_error":false}]})"));
  auto parsed = parse_messages_request(body, RequestKind::kCreate);
  ASSERT_FALSE(parsed.error) << parsed.error->message;
  const chat::ToolChoice& tool_choice = parsed.request->conversation.tool_choice;
  EXPECT_EQ(tool_choice.mode, chat::ToolChoiceMode::kTool);
  EXPECT_EQ(tool_choice.name, "f");
  EXPECT_TRUE(tool_choice.disable_parallel_tool_use);
}

TEST(MessagesRequest, SystemRoleInsideMessagesAccepted) {
  auto body = base();
  body["messages"].insert(body["messages"].begin(), json::parse(R"({"role":"system","content":"be brief"})"));
  EXPECT_EQ(error_of(body), "");
  body["messages"][1]["role"] = "robot";
  EXPECT_EQ(error_of(body), "messages.1.role: Input should be 'user', 'assistant' or 'system'");
}

// A tool input nested past the limit is the client's fault (400), found before anything else runs.
TEST(MessagesRequest, BodiesNestedTooDeepAreRefused) {
  auto body = base();
  json deep = json::object();
  json* at = &deep;
  for (int i = 0; i < 126; ++i) at = &((*at)["a"] = json::object());  // with the body and metadata: 128
  body["metadata"] = deep;
  EXPECT_EQ(error_of(body), "");
  (*at)["a"] = json::array();
  body["metadata"] = deep;
  EXPECT_EQ(error_of(body), "the request nests JSON arrays and objects more than 128 levels deep");
}

TEST(MessagesRequest, RangesAndTypes) {
  auto body = base();
  body["max_tokens"] = 0;
  EXPECT_EQ(error_of(body), "max_tokens: Input should be greater than or equal to 1");
  body = base();
  body["temperature"] = 1.5;
  EXPECT_EQ(error_of(body), "temperature: Input should be less than or equal to 1");
  body = base();
  body.erase("model");
  EXPECT_EQ(error_of(body), "model: Field required");
  body = base();
  body["thinking"] = {{"type", "enabled"}, {"budget_tokens", 2048}};
  body["max_tokens"] = 4096;
  auto parsed = parse_messages_request(body, RequestKind::kCreate);
  ASSERT_FALSE(parsed.error);
  EXPECT_TRUE(parsed.request->thinking);
}

TEST(MessagesRequest, InvalidJson) {
  auto parsed = parse_messages_request(std::string_view("{not json"), RequestKind::kCreate);
  ASSERT_TRUE(parsed.error);
  EXPECT_EQ(parsed.error->http_status, 400);
}

TEST(ErrorEnvelope, Shape) {
  auto body = json::parse(error_body(invalid_request("bad"), "req_1"));
  EXPECT_EQ(body, json::parse(R"({"type":"error","error":{"type":"invalid_request_error","message":"bad"},
                                   "request_id":"req_1"})"));
  EXPECT_EQ(overloaded().http_status, 529);
  EXPECT_EQ(request_too_large().type, "request_too_large");
  EXPECT_EQ(authentication_failed("invalid x-api-key").http_status, 401);
}

// Structured outputs: output_config.format (and the beta's output_format) of type json_schema
// carry the schema, in the client's key order (the grammar writes properties in that order).
TEST(MessagesRequest, OutputSchemaFromOutputConfigOrTheBetaField) {
  auto body = base();
  body["output_config"] = json::parse(R"({"format":{"type":"json_schema","schema":{"type":"object"}}})");
  auto parsed = parse_messages_request(body, RequestKind::kCreate);
  ASSERT_TRUE(parsed.request) << parsed.error->message;
  ASSERT_TRUE(parsed.request->output_schema);
  EXPECT_EQ((*parsed.request->output_schema)["type"], "object");

  auto beta = base();
  beta["output_format"] = json::parse(R"({"type":"json_schema","schema":{"type":"string"}})");
  auto parsed_beta = parse_messages_request(beta, RequestKind::kCreate);
  ASSERT_TRUE(parsed_beta.request);
  EXPECT_EQ((*parsed_beta.request->output_schema)["type"], "string");

  EXPECT_FALSE(parse_messages_request(base(), RequestKind::kCreate).request->output_schema);

  auto text = base();
  text["output_config"] = json::parse(R"({"format":{"type":"text"}})");
  EXPECT_NE(error_of(text).find("output_config.format: Input tag 'text'"), std::string::npos)
      << error_of(text);
  auto no_schema = base();
  no_schema["output_config"] = json::parse(R"({"format":{"type":"json_schema"}})");
  EXPECT_EQ(error_of(no_schema), "output_config.format.schema: Field required");
  auto not_object = base();
  not_object["output_config"] = "json";
  EXPECT_EQ(error_of(not_object), "output_config: Input should be a valid dictionary or object");
}

}  // namespace
}  // namespace pensieve::api
