// A plausible streamed answer for the output path's test and benchmark: reasoning, prose with
// punctuation and quotes, code with tabs and indentation, non-ASCII text — every kind of piece
// the SSE encoders write.
#pragma once

#include <string>

namespace pensieve::testing {

inline std::string sample_answer(int paragraphs) {
  std::string text = "<think>\nThe user wants the function fixed; first read what it does.\n</think>\n\n";
  const std::string paragraph =
      "Here is the fix — the loop \"skipped\" the last element:\n\n```cpp\nfor (std::size_t i = 0; i < n; "
      "++i) {\n"
      "    total += values[i];\t// was i + 1 < n\n}\n```\n\nÜbersicht: 日本語のテキストも問題ありません。\n";
  for (int i = 0; i < paragraphs; ++i) text += paragraph;
  return text;
}

}  // namespace pensieve::testing
