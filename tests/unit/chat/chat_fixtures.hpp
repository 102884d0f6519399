// Reading ../shared/fixtures/chat (templates, conversations, the reference renders) in tests.
#pragma once

#include <gtest/gtest.h>

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

}  // namespace pensieve::chat::testing
