// core/utf8: a code point written as UTF-8 — the one encoder the tokenizer, the templates and
// the grammar share.
#pragma once

#include <string>

namespace pensieve::core {

// Appends `cp` (at most U+10FFFF; surrogates are the caller's concern) in 1 to 4 bytes.
void append_utf8(std::string& out, char32_t cp);

}  // namespace pensieve::core
