// jinja/name_check: which unknown filter and test names fail when a template is parsed.
//
// Jinja2 3 compiles `x | name` to a lookup of the filter, and fails at compile time when the
// name is unknown, except inside an {% if %} (its conditions and every branch) or a conditional
// expression (`a if b else c`): there the lookup is deferred, so a template may guard a filter
// the renderer lacks, and only rendering that reaches it fails. Bodies that Jinja2 compiles in
// a fresh frame (for, macro, call, filter, with, set blocks) are checked strictly again, even
// inside an if.
#pragma once

#include "jinja/ast.hpp"

namespace pensieve::jinja {

// Throws Failure(kSyntax), naming the line, for the first unknown name outside such a guard.
void check_filter_and_test_names(const Body& body);

}  // namespace pensieve::jinja
