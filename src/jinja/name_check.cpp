#include "jinja/name_check.hpp"

#include "jinja/builtins.hpp"
#include "jinja/error.hpp"

namespace pensieve::jinja {
namespace {

// `deferred`: inside an if statement or conditional expression of the current frame, where an
// unknown name is left for rendering to report.
void check_expr(const Expr* e, bool deferred);
void check_body(const Body& body, bool deferred);

void check_expr(const Expr* e, bool deferred) {
  if (!e) return;
  if (e->kind == ExprKind::kConditional) deferred = true;
  if (!deferred) {
    if (e->kind == ExprKind::kFilter && !has_filter(e->name)) {
      fail(FailureKind::kSyntax, "No filter named '" + e->name + "'.", e->line);
    }
    if (e->kind == ExprKind::kTest && !has_test(e->name)) {
      fail(FailureKind::kSyntax, "No test named '" + e->name + "'.", e->line);
    }
  }
  for (const auto& operand : e->operands) check_expr(operand.get(), deferred);
  for (const auto& [name, value] : e->kwargs) check_expr(value.get(), deferred);
}

void check_params(const std::vector<Param>& params) {
  for (const Param& p : params) check_expr(p.default_value.get(), false);
}

void check_stmt(const Stmt& s, bool deferred) {
  switch (s.kind) {
    case StmtKind::kOutput:
    case StmtKind::kSet:
      check_expr(s.expr.get(), deferred);
      return;
    case StmtKind::kIf:
      for (const auto& [condition, body] : s.branches) {
        check_expr(condition.get(), true);
        check_body(body, true);
      }
      check_body(s.else_body, true);
      return;
    case StmtKind::kFor:
      // The iterable belongs to the enclosing frame; the filter condition, body and else
      // branch get frames of their own.
      check_expr(s.expr.get(), deferred);
      check_expr(s.condition.get(), false);
      check_body(s.body, false);
      check_body(s.else_body, false);
      return;
    case StmtKind::kCallBlock:
      check_expr(s.expr.get(), deferred);  // the call itself is in the enclosing frame
      check_params(s.params);
      check_body(s.body, false);
      return;
    case StmtKind::kWith:
      for (const auto& [name, value] : s.assignments) check_expr(value.get(), deferred);
      check_body(s.body, false);
      return;
    case StmtKind::kMacro:
      check_params(s.params);
      check_body(s.body, false);
      return;
    case StmtKind::kSetBlock:
    case StmtKind::kFilterBlock:
      check_body(s.body, false);
      check_expr(s.expr.get(), false);
      return;
    case StmtKind::kScope:  // {% generation %} is a call block in Hugging Face's extension
      check_body(s.body, false);
      return;
    case StmtKind::kText:
    case StmtKind::kBreak:
    case StmtKind::kContinue:
      return;
  }
}

void check_body(const Body& body, bool deferred) {
  for (const auto& s : body) check_stmt(*s, deferred);
}

}  // namespace

void check_filter_and_test_names(const Body& body) {
  check_body(body, false);
}

}  // namespace pensieve::jinja
