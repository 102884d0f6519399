// jinja/parser: turns tokens into the statement tree the interpreter walks, with
// Jinja2's operator precedence. Unknown filters and tests fail here where Jinja2 fails at
// compile time (see name_check.hpp).
#pragma once

#include <string_view>

#include "jinja/ast.hpp"

namespace pensieve::jinja {

// Throws Failure(kSyntax) naming the line on malformed input.
Body parse_template(std::string_view source);

}  // namespace pensieve::jinja
