// jinja/ast: the parsed form of a template. Expressions and statements are plain tagged
// structs; the interpreter switches on the tag.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/value.hpp"

namespace pensieve::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  kLiteral,      // literal
  kName,         // name
  kList,         // items
  kTuple,        // items
  kDict,         // items: key, value, key, value, ...
  kAttribute,    // operands[0].name
  kSubscript,    // operands[0][operands[1]]
  kSlice,        // operands: start, stop, step (each may be null)
  kCall,         // operands[0](operands[1..], kwargs)
  kFilter,       // operands[0] | name(operands[1..], kwargs)
  kTest,         // operands[0] is [not] name(operands[1..], kwargs); negated
  kUnary,        // op operands[0]: "not", "-", "+"
  kBinary,       // operands[0] op operands[1]
  kConditional,  // operands: then, condition, else (else may be null)
};

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  int line = 0;
  Value literal;
  std::string name;  // variable, attribute, filter or test name, or operator
  bool negated = false;
  std::vector<ExprPtr> operands;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind {
  kText,         // text
  kOutput,       // {{ expr }}
  kIf,           // branches: (condition, body)...; else_body
  kFor,          // targets in expr [if condition]: body; else_body
  kSet,          // targets (names or ns.attr) = expr
  kSetBlock,     // {% set name %}body{% endset %}
  kMacro,        // name(params with defaults): body
  kCallBlock,    // {% call(params) expr %}body{% endcall %}
  kFilterBlock,  // {% filter name(args) %}body{% endfilter %}: expr holds the filter applied to a placeholder
  kWith,         // {% with name = expr, ... %}body{% endwith %}
  kBreak,
  kContinue,
  kScope,  // a body rendered in place (e.g. {% generation %})
};

struct Param {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Stmt {
  StmtKind kind = StmtKind::kText;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr condition;
  // Assignment targets: a name, or "ns.attr" written as (ns, attr).
  std::vector<std::pair<std::string, std::string>> targets;
  std::vector<Param> params;
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<std::pair<std::string, ExprPtr>> assignments;
  Body body;
  Body else_body;
};

}  // namespace pensieve::jinja
