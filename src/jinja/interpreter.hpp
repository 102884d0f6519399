// jinja/interpreter: walks a parsed template and renders it into provenance-carrying
// text, within limits on steps, output size and call depth.
#pragma once

#include <cstddef>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "jinja/ast.hpp"
#include "jinja/text.hpp"
#include "jinja/value.hpp"

namespace pensieve::jinja {

struct Limits {
  std::size_t max_steps = 0;
  std::size_t max_output_bytes = 0;
  int max_call_depth = 0;
};

struct Scope {
  Scope* parent = nullptr;
  std::unordered_map<std::string, Value> vars;

  const Value* lookup(const std::string& name) const;
};

class Interpreter {
 public:
  Interpreter(Limits limits, std::function<std::time_t()> clock, bool utc);

  // Renders `body` with `context` as the template's top-level variables.
  Text render(const Body& body, const Dict& context);

  // For builtins: account for work and size so no template runs away.
  void count_steps(std::size_t n = 1);
  void check_size(std::size_t bytes) const;
  // A new string of `bytes` bytes: within the output limit, and paid for in steps (one per
  // 64 bytes) so that quadratic string building still runs into the step limit quickly.
  void account_string(std::size_t bytes) {
    check_size(bytes);
    count_steps(bytes / 64);
  }
  std::time_t now() const { return clock_ ? clock_() : std::time(nullptr); }
  bool utc() const { return utc_; }

  Value call(const Value& callee, CallArgs& args);
  Value get_attribute(const Value& object, std::string_view name) const;
  Value get_item(const Value& object, const Value& key);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec_body(const Body& body, Scope& scope);
  Flow exec(const Stmt& s, Scope& scope);
  Flow exec_for(const Stmt& s, Scope& scope);
  void exec_set(const Stmt& s, Scope& scope);
  void assign(Scope& scope, const std::pair<std::string, std::string>& target, Value value, int line);
  Text capture(const Body& body, Scope& scope);
  void emit(const Text& text);

  Value eval(const Expr& e, Scope& scope);
  Value eval_call(const Expr& e, Scope& scope);
  void eval_args(const Expr& e, Scope& scope, std::size_t first, CallArgs& args);
  Value eval_slice(const Value& object, const Expr& slice, Scope& scope);

  Value make_macro(const Stmt& macro, Scope* caller_scope, std::shared_ptr<bool> alive);
  Value invoke_macro(const Stmt& macro, CallArgs& args, Scope* parent);

  Limits limits_;
  std::function<std::time_t()> clock_;
  bool utc_;
  std::size_t steps_ = 0;
  int call_depth_ = 0;
  int line_ = 0;
  Scope root_;
  Text* out_ = nullptr;
};

}  // namespace pensieve::jinja
