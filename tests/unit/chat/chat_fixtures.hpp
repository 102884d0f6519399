// Reading ../shared/fixtures/chat (templates, conversations, the reference renders) in tests.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace pensieve::chat::testing {

inline const std::string kChatFixtures = std::string(PENSIEVE_FIXTURES) + "/chat/";

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Where a rendered assistant turn ends: the end-of-turn marks of the fixture families.
inline constexpr std::string_view kTurnEnds[] = {"<|im_end|>", "<|eot_id|>",        "<|eom_id|>",
                                                 "</s>",       "<|call|>",          "<|end|>",
                                                 "<｜end▁of▁sentence｜>", "<|observation|>", "<|user|>"};

// An Anthropic request offering get_weather and read_file, with the given `messages` (JSON).
inline nlohmann::ordered_json request_with_two_tools(std::string_view messages) {
  nlohmann::ordered_json request;
  request["tools"] = nlohmann::ordered_json::parse(R"([
    {"name": "get_weather", "description": "Weather for a city.", "input_schema": {"type": "object",
      "properties": {"location": {"type": "string"}, "days": {"type": "integer"}}, "required": ["location"]}},
    {"name": "read_file", "description": "Read a file.", "input_schema": {"type": "object",
      "properties": {"path": {"type": "string"}}, "required": ["path"]}}])");
  request["messages"] = nlohmann::ordered_json::parse(messages);
  return request;
}

}  // namespace pensieve::chat::testing
