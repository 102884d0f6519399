// A chat-completions body read into the server's typed request: roles, content parts, tool calls
// and their results, tool_choice, response_format, sampling fields, and the field each error names.
#include "openai/chat_request.hpp"

#include <gtest/gtest.h>

namespace pensieve::openai {
namespace {

ChatRequest parsed(std::string_view body) {
  auto r = parse_chat_request(body);
  EXPECT_FALSE(r.error) << (r.error ? r.error->message : "");
  return r.chat ? *r.chat : ChatRequest{};
}

std::string error_of(std::string_view body) {
  auto r = parse_chat_request(body);
  EXPECT_TRUE(r.error.has_value()) << body;
  if (r.error) {
    EXPECT_EQ(r.error->http_status, 400);
  }
  return r.error ? r.error->message : "";
}

TEST(ChatRequest, MessagesBecomeTheConversation) {
  const ChatRequest c = parsed(R"({"model": "m", "max_completion_tokens": 50, "stream": true,
      "stream_options": {"include_usage": true}, "stop": "END", "seed": 7, "temperature": 0.5,
      "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "No lists."}]},
        {"role": "user", "content": [{"type": "text", "text": "Time?"}, {"type": "image_url", "image_url": {"url": "x"}}]},
        {"role": "assistant", "content": null, "reasoning_content": "call it",
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "t", "arguments": "{\"a\":1}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "t", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "one"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "two"}]},
        {"role": "user", "content": "thanks"}]})");
  const api::MessagesRequest& r = c.request;
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.max_tokens, 50);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(c.include_usage);
  EXPECT_EQ(r.stop_sequences, std::vector<std::string>{"END"});
  EXPECT_EQ(r.seed, 7u);
  EXPECT_DOUBLE_EQ(*r.temperature, 0.5);
  EXPECT_TRUE(r.thinking);
  const chat::Conversation& conv = r.conversation;
  ASSERT_TRUE(conv.system.has_value());
  ASSERT_EQ(conv.system->blocks.size(), 2u);
  EXPECT_EQ(std::get<chat::TextBlock>(conv.system->blocks[1]).text, "No lists.");
  ASSERT_EQ(conv.messages.size(), 3u);  // user, assistant, user (tool results and "thanks")
  EXPECT_TRUE(std::holds_alternative<chat::ImageBlock>(conv.messages[0].content.blocks[1]));
  const auto& assistant = conv.messages[1].content.blocks;
  ASSERT_EQ(assistant.size(), 3u);
  EXPECT_EQ(std::get<chat::ThinkingBlock>(assistant[0]).thinking, "call it");
  EXPECT_EQ(std::get<chat::ToolUseBlock>(assistant[1]).input, nlohmann::ordered_json::parse(R"({"a":1})"));
  EXPECT_EQ(std::get<chat::ToolUseBlock>(assistant[2]).input, nlohmann::ordered_json::object());
  const auto& results = conv.messages[2].content.blocks;
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(std::get<chat::ToolResultBlock>(results[0]).tool_use_id, "call_1");
  EXPECT_EQ(std::get<chat::ToolResultBlock>(results[1]).tool_use_id, "call_2");
  EXPECT_EQ(std::get<chat::TextBlock>(results[2]).text, "thanks");
}

TEST(ChatRequest, ToolsChoicesAndFormats) {
  const char* tools = R"("tools": [{"type": "function", "function": {"name": "t", "description": "d",
      "parameters": {"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "integer"}}}}},
      {"type": "function", "function": {"name": "u"}}])";
  auto with = [&](const std::string& extra) {
    return parsed(std::string(R"({"model": "m", "messages": [{"role": "user", "content": "x"}], )") + tools +
                  extra + "}");
  };
  ChatRequest c = with(R"(, "tool_choice": "required", "parallel_tool_calls": false)");
  const chat::Conversation& conv = c.request.conversation;
  ASSERT_EQ(conv.tools.size(), 2u);
  EXPECT_EQ(conv.tools[0].input_schema->dump(),
            R"({"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}})")
      << "the client's key order";
  EXPECT_EQ(conv.tools[1].input_schema->dump(), R"({"type":"object","properties":{}})");
  EXPECT_EQ(conv.tool_choice.mode, chat::ToolChoiceMode::kAny);
  EXPECT_TRUE(conv.tool_choice.disable_parallel_tool_use);
  EXPECT_EQ(c.request.max_tokens, 0) << "none given: the rest of the context";
  c = with(R"(, "tool_choice": {"type": "function", "function": {"name": "u"}})");
  EXPECT_EQ(c.request.conversation.tool_choice.mode, chat::ToolChoiceMode::kTool);
  EXPECT_EQ(c.request.conversation.tool_choice.name, "u");
  EXPECT_EQ(with(R"(, "tool_choice": "none")").request.conversation.tool_choice.mode,
            chat::ToolChoiceMode::kNone);
  c = with(
      R"(, "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "array"}}})");
  EXPECT_EQ(c.request.output_schema->dump(), R"({"type":"array"})");
  EXPECT_EQ(with(R"(, "response_format": {"type": "json_object"})").request.output_schema->dump(),
            R"({"type":"object"})");
  EXPECT_FALSE(with(R"(, "reasoning_effort": "none")").request.thinking);
}

TEST(ChatRequest, TemplateKwargsSwitchThinkingAndTopKIsRead) {
  auto with = [](const std::string& extra) {
    return parsed(std::string(R"({"model": "m", "messages": [{"role": "user", "content": "x"}])") + extra +
                  "}")
        .request;
  };
  EXPECT_TRUE(with("").thinking) << "reasoning models think unless told not to";
  EXPECT_FALSE(with(R"(, "chat_template_kwargs": {"enable_thinking": false})").thinking);
  EXPECT_TRUE(
      with(R"(, "reasoning_effort": "none", "chat_template_kwargs": {"enable_thinking": true})").thinking)
      << "the template's own switch wins";
  EXPECT_FALSE(with(R"(, "chat_template_kwargs": {"enable_thinking": null, "reasoning_effort": "none"},
      "reasoning_effort": "none")")
                   .thinking)
      << "null and other template arguments leave it alone";
  EXPECT_TRUE(with(R"(, "chat_template_kwargs": {"other": 1})").thinking);
  EXPECT_EQ(with(R"(, "top_k": 20)").top_k, 20);
  EXPECT_FALSE(with(R"(, "top_k": -1)").top_k.has_value()) << "vLLM's no-limit";
  EXPECT_FALSE(with(R"(, "top_k": 0)").top_k.has_value());
  const std::string x = R"({"model": "m", "messages": [{"role": "user", "content": "x"}], )";
  EXPECT_NE(error_of(x + R"("chat_template_kwargs": {"enable_thinking": "yes"}})")
                .find("chat_template_kwargs.enable_thinking: must be a boolean"),
            std::string::npos);
  EXPECT_NE(
      error_of(x + R"("chat_template_kwargs": [true]})").find("chat_template_kwargs: must be an object"),
      std::string::npos);
  EXPECT_NE(error_of(x + R"("top_k": 1.5})").find("top_k"), std::string::npos);
  EXPECT_NE(error_of(x + R"("top_k": -2})").find("top_k"), std::string::npos);
}

// What front ends send besides the conversation: honoured when the sampler can, ignored when it
// changes nothing (user, metadata, empty logit_bias, logprobs false, verbosity, …).
TEST(ChatRequest, FrontEndFieldsAreHonouredOrIgnored) {
  const ChatRequest c = parsed(R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
      "presence_penalty": 0.5, "frequency_penalty": 1.5, "top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1, "seed": -1,
      "stop": ["a", "b", "c", "d", "e", "f"], "logit_bias": {}, "logprobs": false, "top_logprobs": 0, "user": "u",
      "metadata": {"chat_id": "1"}, "verbosity": "low", "store": false, "service_tier": "auto",
      "stream_options": {"include_usage": "yes"}, "n": 1})");
  const api::MessagesRequest& r = c.request;
  EXPECT_DOUBLE_EQ(*r.presence_penalty, 0.5);
  EXPECT_DOUBLE_EQ(*r.frequency_penalty, 1.5);
  EXPECT_EQ(r.top_k, 40);
  EXPECT_DOUBLE_EQ(*r.min_p, 0.05);
  EXPECT_DOUBLE_EQ(*r.repetition_penalty, 1.1);
  EXPECT_FALSE(r.seed.has_value()) << "a negative seed asks for a random one";
  EXPECT_EQ(r.stop_sequences.size(), 6u) << "more than OpenAI's 4: all honoured";
  EXPECT_FALSE(c.include_usage);
  EXPECT_FALSE(r.raw_prompt.has_value());
  EXPECT_EQ(r.tool_call_id_prefix, "call_") << "the model's tool calls get OpenAI's ids";
}

TEST(ChatRequest, ErrorsNameTheField) {
  EXPECT_NE(error_of(R"({"messages": []})").find("model"), std::string::npos);
  EXPECT_NE(error_of(R"({"model": "m", "messages": []})").find("messages"), std::string::npos);
  EXPECT_NE(
      error_of(R"({"model": "m", "messages": [{"role": "bot", "content": "x"}]})").find("messages[0].role"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"model": "m", "messages": [{"role": "tool", "content": "x"}]})").find("tool_call_id"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"function":
      {"name": "t", "arguments": "[1]"}}]}]})")
                .find("messages[0].tool_calls[0].function.arguments"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model": "m", "n": 3, "messages": [{"role": "user", "content": "x"}]})").find("n:"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model": "m", "temperature": 3, "messages": [{"role": "user", "content": "x"}]})")
                .find("temperature"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"model": "m", "tool_choice": "required", "messages": [{"role": "user", "content": "x"}]})")
          .find("no tools"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"model": "m", "stop": ["a", 1], "messages": [{"role": "user", "content": "x"}]})")
                .find("stop"),
            std::string::npos);
  // Ignoring these would change the answer without a word.
  EXPECT_NE(error_of(R"({"model": "m", "logprobs": true, "messages": [{"role": "user", "content": "x"}]})")
                .find("logprobs"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model": "m", "top_logprobs": 3, "messages": [{"role": "user", "content": "x"}]})")
                .find("top_logprobs"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"model": "m", "logit_bias": {"1": 5}, "messages": [{"role": "user", "content": "x"}]})")
          .find("logit_bias"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"model": "m", "min_p": 2, "messages": [{"role": "user", "content": "x"}]})").find("min_p"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"model": "m", "repetition_penalty": 0, "messages": [{"role": "user", "content": "x"}]})")
          .find("repetition_penalty"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"model": "m", "top_k": -2, "messages": [{"role": "user", "content": "x"}]})")
                .find("top_k"),
            std::string::npos);
  EXPECT_NE(error_of("{not json").find("JSON"), std::string::npos);
  std::string deep = R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "x": )";
  deep += std::string(200, '[') + std::string(200, ']') + "}";
  EXPECT_NE(error_of(deep).find("levels deep"), std::string::npos);
}

}  // namespace
}  // namespace pensieve::openai
