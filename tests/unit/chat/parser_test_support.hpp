// Helpers for the stream-parser tests: run a text through a family's parser whole, one character
// at a time and in seeded random chunks, and describe the events compactly.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/stream_parser.hpp"

namespace pensieve::chat::testing {

inline ParserOptions make_options(nlohmann::json tools = nullptr, bool starts_in_reasoning = false) {
  ParserOptions options;
  options.tools = std::move(tools);
  options.starts_in_reasoning = starts_in_reasoning;
  return options;
}

// Splits `text` into chunks: size 0 means whole, 1 one byte at a time, otherwise random sizes in
// [1, max_chunk] drawn from `seed`.
inline std::vector<std::string> split_text(std::string_view text, size_t max_chunk, unsigned seed) {
  std::vector<std::string> chunks;
  if (max_chunk == 0) {
    chunks.emplace_back(text);
    return chunks;
  }
  std::mt19937 engine(seed);
  std::uniform_int_distribution<size_t> size(1, max_chunk);
  for (size_t at = 0; at < text.size();) {
    const size_t n = std::min(text.size() - at, max_chunk == 1 ? 1 : size(engine));
    chunks.emplace_back(text.substr(at, n));
    at += n;
  }
  return chunks;
}

inline std::vector<ChatEvent> run_parser(const TemplateTraits& traits, const ParserOptions& options,
                                         const std::vector<std::string>& chunks) {
  ParserOptions counted = options;  // ids call_0, call_1, … afresh for every run
  auto counter = std::make_shared<int>(0);
  counted.make_tool_call_id = [counter] { return "call_" + std::to_string((*counter)++); };
  auto parser = make_stream_parser(traits, std::move(counted));
  std::vector<ChatEvent> events;
  for (const std::string& chunk : chunks) parser->feed(chunk, events);
  parser->finish(events);
  return merge_adjacent_deltas(events);
}

// One line per text/reasoning run or tool call: "text:…", "reasoning:…",
// "call:NAME ARGS" (ARGS re-serialised when it parses) with " (incomplete)" when so reported.
inline std::vector<std::string> describe(const std::vector<ChatEvent>& events) {
  std::vector<std::string> lines;
  std::string arguments;
  std::string name;
  for (const ChatEvent& event : events) {
    switch (event.kind) {
      case ChatEventKind::kText: lines.push_back("text:" + event.text); break;
      case ChatEventKind::kReasoning: lines.push_back("reasoning:" + event.text); break;
      case ChatEventKind::kToolCallStart:
        name = event.name;
        arguments.clear();
        break;
      case ChatEventKind::kToolCallArguments: arguments += event.text; break;
      case ChatEventKind::kToolCallEnd: {
        const auto parsed = nlohmann::json::parse(arguments, nullptr, false);
        lines.push_back("call:" + name + " " + (parsed.is_discarded() ? arguments : parsed.dump()) +
                        (event.complete ? "" : " (incomplete)"));
        break;
      }
    }
  }
  return lines;
}

// Parses `text` whole, byte by byte and in random chunks (several seeds and sizes); every way
// must give the same merged events. Returns their description.
inline std::vector<std::string> parse_every_way(const TemplateTraits& traits, const ParserOptions& options,
                                                std::string_view text) {
  const std::vector<ChatEvent> whole = run_parser(traits, options, split_text(text, 0, 0));
  const std::vector<ChatEvent> bytewise = run_parser(traits, options, split_text(text, 1, 0));
  EXPECT_EQ(describe(bytewise), describe(whole)) << "byte by byte differs from whole for: " << text;
  EXPECT_TRUE(bytewise == whole) << "byte by byte events differ for: " << text;
  for (unsigned seed = 1; seed <= 12; ++seed) {
    const size_t max_chunk = 2 + seed % 7 * 3;
    const auto chunked = run_parser(traits, options, split_text(text, max_chunk, seed));
    EXPECT_EQ(describe(chunked), describe(whole)) << "seed " << seed << " differs for: " << text;
    EXPECT_TRUE(chunked == whole) << "seed " << seed << " events differ for: " << text;
  }
  return describe(whole);
}

}  // namespace pensieve::chat::testing
