// tokenizer/pre_tokenizer_rules: each function is one pre-tokenizer regex written out by hand,
// with the exact semantics of a backtracking regex search (leftmost match, alternatives tried in
// order) over one piece of text. The regex each one implements is quoted above it in the .cpp.
#pragma once

#include <cstddef>

#include "tokenizer/codepoint_text.hpp"

namespace pensieve::tokenizer::rules {

struct Match {
  std::size_t begin = 0;
  std::size_t end = 0;  // begin == end: no match in the searched range
};

// Finds the leftmost match in code points [from, end); `end` is the end of the current piece,
// so look-aheads and `$` see the piece boundary, as in the reference tokenizers.
using Rule = Match (*)(const CodepointText& text, std::size_t from, std::size_t end);

Match gpt2(const CodepointText& text, std::size_t from, std::size_t end);
Match llama3(const CodepointText& text, std::size_t from, std::size_t end);
Match qwen2(const CodepointText& text, std::size_t from, std::size_t end);
Match single_number(const CodepointText& text, std::size_t from, std::size_t end);
Match number_run(const CodepointText& text, std::size_t from, std::size_t end);
Match three_ascii_digits(const CodepointText& text, std::size_t from, std::size_t end);
Match punctuation_run(const CodepointText& text, std::size_t from, std::size_t end);
Match punctuation_run_with_backtick(const CodepointText& text, std::size_t from, std::size_t end);
Match single_newline(const CodepointText& text, std::size_t from, std::size_t end);
Match space_then_letters(const CodepointText& text, std::size_t from, std::size_t end);
Match space_then_punctuation(const CodepointText& text, std::size_t from, std::size_t end);
Match cjk_run(const CodepointText& text, std::size_t from, std::size_t end);
Match space_then_cased_letters(const CodepointText& text, std::size_t from, std::size_t end);
Match space_then_ascii_punctuation(const CodepointText& text, std::size_t from, std::size_t end);
Match trailing_spaces(const CodepointText& text, std::size_t from, std::size_t end);

// pre_tokenizer_rules_cased.cpp: words split at case changes.
Match o200k(const CodepointText& text, std::size_t from, std::size_t end);
Match tekken(const CodepointText& text, std::size_t from, std::size_t end);
Match kimi_k2(const CodepointText& text, std::size_t from, std::size_t end);

// pre_tokenizer_rules_deepseek_v3.cpp
Match one_to_three_numbers(const CodepointText& text, std::size_t from, std::size_t end);
Match ideograph_or_kana_run(const CodepointText& text, std::size_t from, std::size_t end);
Match deepseek_v3_words(const CodepointText& text, std::size_t from, std::size_t end);

}  // namespace pensieve::tokenizer::rules
