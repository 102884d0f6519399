// grammar/control_token: how a grammar names a control token. Grammars are over bytes, and a
// control token (Kimi-K2's <|tool_call_end|>, Mistral's [TOOL_CALLS]) is not bytes of the text:
// a model writes it as one id, and ordinary tokens that happen to spell its text are another
// thing. So a control token stands, for the token masker and the matcher, for its text between
// two kControlMark bytes. 0xFF never occurs in UTF-8, and grammars only ever allow valid UTF-8
// outside such marks, so the marked text is matched by that one token and by nothing else.
#pragma once

#include <string>
#include <string_view>

namespace pensieve::grammar {

inline constexpr char kControlMark = '\xFF';

// The bytes that stand for the control token whose text is `text`.
inline std::string control_token_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += kControlMark;
  out.append(text);
  out += kControlMark;
  return out;
}

// The bytes a token stands for in a grammar: for a control token its marked text; for any other
// token the bytes it decodes to, or nothing (never allowed) when they hold the mark byte, which
// only a raw byte token can (0xFF alone is never valid text, so no grammar loses anything).
inline std::string grammar_token_bytes(std::string decoded, std::string_view control_text, bool control) {
  if (control) return control_token_bytes(control_text);
  if (decoded.find(kControlMark) != std::string::npos) return {};
  return decoded;
}

}  // namespace pensieve::grammar
