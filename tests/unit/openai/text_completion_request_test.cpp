// A text-completions body read into the server's typed request: the prompt raw (a string or a
// list of one), max_tokens (16 when absent, as OpenAI's), echo, the shared sampling fields, and
// every refusal with the field it names.
#include "openai/text_completion_request.hpp"

#include <gtest/gtest.h>

namespace pensieve::openai {
namespace {

TextCompletionRequest parsed(std::string_view body) {
  auto r = parse_text_completion_request(body);
  EXPECT_FALSE(r.error) << (r.error ? r.error->message : "");
  return r.completion ? *r.completion : TextCompletionRequest{};
}

std::string error_of(std::string_view body) {
  auto r = parse_text_completion_request(body);
  EXPECT_TRUE(r.error.has_value()) << body;
  if (r.error) {
    EXPECT_EQ(r.error->http_status, 400);
  }
  return r.error ? r.error->message : "";
}

TEST(TextCompletionRequest, ThePromptIsRawAndTheConversationEmpty) {
  const TextCompletionRequest c = parsed(R"({"model": "m", "prompt": "def add(a, b):\n", "max_tokens": 40,
      "stream": true, "stream_options": {"include_usage": true}, "stop": ["\n\n", "def ", "class ", "#", "'''", "\"\"\""],
      "temperature": 0.2, "top_p": 0.9, "seed": 3, "presence_penalty": 0.5, "frequency_penalty": -0.5,
      "echo": true, "suffix": "", "user": "u", "logprobs": null, "n": 1, "best_of": 1})");
  const api::MessagesRequest& r = c.request;
  EXPECT_EQ(r.model, "m");
  ASSERT_TRUE(r.raw_prompt.has_value());
  EXPECT_EQ(*r.raw_prompt, "def add(a, b):\n");
  EXPECT_TRUE(r.conversation.messages.empty());
  EXPECT_FALSE(r.conversation.system.has_value());
  EXPECT_EQ(r.max_tokens, 40);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(c.include_usage);
  EXPECT_TRUE(c.echo);
  EXPECT_EQ(r.stop_sequences.size(), 6u) << "more than OpenAI's 4: all honoured";
  EXPECT_EQ(r.stop_sequences[1], "def ");
  EXPECT_DOUBLE_EQ(*r.temperature, 0.2);
  EXPECT_DOUBLE_EQ(*r.top_p, 0.9);
  EXPECT_EQ(r.seed, 3u);
  EXPECT_DOUBLE_EQ(*r.presence_penalty, 0.5);
  EXPECT_DOUBLE_EQ(*r.frequency_penalty, -0.5);
  EXPECT_FALSE(r.thinking);
}

TEST(TextCompletionRequest, DefaultsAndAListOfOnePrompt) {
  const TextCompletionRequest c = parsed(R"({"model": "m", "prompt": ["Once upon"], "stop": "."})");
  EXPECT_EQ(*c.request.raw_prompt, "Once upon");
  EXPECT_EQ(c.request.max_tokens, kTextCompletionMaxTokens);
  EXPECT_EQ(c.request.max_tokens, 16);
  EXPECT_EQ(c.request.stop_sequences, std::vector<std::string>{"."});
  EXPECT_FALSE(c.request.stream);
  EXPECT_FALSE(c.include_usage);
  EXPECT_FALSE(c.echo);
  EXPECT_FALSE(c.request.seed.has_value());
  EXPECT_EQ(parsed(R"({"model": "m", "prompt": "x", "max_tokens": null})").request.max_tokens, 16);
}

TEST(TextCompletionRequest, RefusalsNameTheField) {
  const auto has = [](const std::string& message, const char* what) {
    return message.find(what) != std::string::npos;
  };
  EXPECT_TRUE(has(error_of(R"({"prompt": "x"})"), "model"));
  EXPECT_TRUE(has(error_of(R"({"model": "m"})"), "prompt: required"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": null})"), "prompt: required"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": ["a", "b"]})"), "only one prompt"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": [1, 2, 3]})"), "token ids"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": [[1, 2], [3]]})"), "token ids"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": 5})"), "prompt: must be a string"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": []})"), "prompt: must be a string"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "suffix": "}"})"), "suffix: fill-in-the-middle"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "n": 2})"), "n: only 1"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "best_of": 3})"), "best_of"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "logprobs": 5})"), "logprobs"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "logit_bias": {"50256": -100}})"), "logit_bias"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "echo": "yes"})"), "echo"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "max_tokens": 0})"), "max_tokens"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "max_tokens": 1.5})"), "max_tokens"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "stop": [1]})"), "stop"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "stream": "true"})"), "stream"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "presence_penalty": 3})"), "presence_penalty"));
  EXPECT_TRUE(
      has(error_of(R"({"model": "m", "prompt": "x", "frequency_penalty": "a"})"), "frequency_penalty"));
  EXPECT_TRUE(has(error_of(R"({"model": "m", "prompt": "x", "top_p": 1.5})"), "top_p"));
  EXPECT_TRUE(has(error_of(R"(["not", "an", "object"])"), "JSON object"));
  EXPECT_TRUE(has(error_of("{"), "JSON"));
}

}  // namespace
}  // namespace pensieve::openai
