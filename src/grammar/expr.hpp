// grammar/expr: the tree GrammarBuilder assembles before compiling it (internal to the module).
//
// Expressions live in one pool and refer to each other by index, so a GrammarBuilder::Rule is
// just an index. Named rules are the only way to recurse (a kCall refers to one by number): the
// compiler turns each named rule into one automaton and calls into a stack frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "grammar/byte_set.hpp"

namespace pensieve::grammar::detail {

struct Expr {
  enum class Kind : std::uint8_t { kEmpty, kBytes, kLiteral, kSequence, kAlternatives, kRepeat, kCall };
  Kind kind = Kind::kEmpty;
  ByteSet bytes;                        // kBytes
  std::string text;                     // kLiteral
  std::vector<std::uint32_t> children;  // kSequence, kAlternatives, kRepeat (one child)
  std::size_t min = 0;                  // kRepeat
  std::optional<std::size_t> max;       // kRepeat; nullopt: unbounded
  std::uint32_t rule = 0;               // kCall: index of a named rule
};

struct ExprPool {
  std::vector<Expr> exprs;
  // The body of each named rule (an expression index), unset while only declared.
  std::vector<std::optional<std::uint32_t>> rule_bodies;
  std::vector<std::string> rule_names;
};

}  // namespace pensieve::grammar::detail
