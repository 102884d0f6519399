// grammar/compile: turns a GrammarBuilder's expression pool into the automata of a Grammar.
#pragma once

#include <cstdint>

#include "core/result.hpp"
#include "grammar/expr.hpp"
#include "grammar/grammar.hpp"

namespace pensieve::grammar::detail {

// More nodes than this is a grammar no request should need (bounded repeats multiply nodes).
inline constexpr std::size_t kMaxNodes = std::size_t{1} << 20;

// Compiles the rules reachable from expression `root`. With tables=false only the checks run
// (left recursion, a grammar that matches nothing, size): json_schema() uses that to report
// errors at the schema rather than at build().
Result<Grammar::Data> compile(const ExprPool& pool, std::uint32_t root, bool tables);

}  // namespace pensieve::grammar::detail
