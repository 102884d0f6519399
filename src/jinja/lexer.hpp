// jinja/lexer: splits template source into text and tag tokens.
//
// Whitespace control happens here, as Hugging Face configures Jinja2 for chat templates:
// trim_blocks (drop the newline after a block or comment tag), lstrip_blocks (drop spaces and
// tabs between a line start and a block or comment tag, unless it opens with `+`), and the
// explicit `-` markers that strip all whitespace on their side.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pensieve::jinja {

enum class TokenKind {
  kText,        // literal output
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,  // value holds the unescaped string
  kInteger,
  kFloat,
  kOperator,  // value holds the operator: "==", "(", "|", ...
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string value;
  int line = 1;
};

// Fails (kSyntax) on unterminated tags, strings or comments and on unknown characters.
std::vector<Token> tokenize(std::string_view source);

}  // namespace pensieve::jinja
