// chat/jinja/parser: turns tokens into the statement tree the interpreter walks, with
// Jinja2's operator precedence. Unknown filters and tests fail here where Jinja2 fails at
// compile time (see name_check.hpp).
#pragma once

#include <string_view>

#include "chat/jinja/ast.hpp"

namespace pensieve::chat::jinja {

// Throws Failure(kSyntax) naming the line on malformed input.
Body parse_template(std::string_view source);

}  // namespace pensieve::chat::jinja
