#include "jinja/interpreter.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "jinja/builtins.hpp"
#include "jinja/error.hpp"
#include "jinja/strings.hpp"

namespace pensieve::jinja {
namespace {

const std::string kFilterInput = "\x01filter-input";

std::int64_t slice_bound(const Value& v, const char* what) {
  if (v.is_int() || v.is_bool()) return v.as_int();
  fail(FailureKind::kType, std::string("slice ") + what + " must be an integer or None, not " + type_name(v));
}

// Python's slice.indices(): the positions a[start:stop:step] selects from a sequence of n.
std::vector<std::size_t> slice_positions(std::int64_t n, const Value& start_v, const Value& stop_v,
                                         const Value& step_v) {
  const std::int64_t step = step_v.is_none() || step_v.is_undefined() ? 1 : slice_bound(step_v, "step");
  if (step == 0) fail(FailureKind::kValue, "slice step cannot be zero");
  auto clamp = [&](const Value& v, std::int64_t dflt, std::int64_t lo, std::int64_t hi) {
    if (v.is_none() || v.is_undefined()) return dflt;
    std::int64_t i = slice_bound(v, "index");
    if (i < 0) i += n;
    return std::clamp(i, lo, hi);
  };
  std::vector<std::size_t> out;
  if (step > 0) {
    const std::int64_t start = clamp(start_v, 0, 0, n);
    const std::int64_t stop = clamp(stop_v, n, 0, n);
    for (std::int64_t i = start; i < stop; i += step) out.push_back(static_cast<std::size_t>(i));
  } else {
    const std::int64_t start = clamp(start_v, n - 1, -1, n - 1);
    const std::int64_t stop = clamp(stop_v, -1, -1, n - 1);
    for (std::int64_t i = start; i > stop; i += step) out.push_back(static_cast<std::size_t>(i));
  }
  return out;
}

// Byte offset of each code point of `s`, plus s.size() at the end.
std::vector<std::size_t> char_offsets(const std::string& s) {
  std::vector<std::size_t> offsets;
  offsets.reserve(s.size() + 1);
  for (std::size_t pos = 0; pos < s.size();) {
    offsets.push_back(pos);
    std::size_t len = 1;
    decode_at(s, pos, len);
    pos += len;
  }
  offsets.push_back(s.size());
  return offsets;
}

// The bytes of code point `index` (negative counts from the end), without building tables.
std::optional<std::pair<std::size_t, std::size_t>> char_at(const std::string& s, std::int64_t index) {
  if (index < 0) index += static_cast<std::int64_t>(utf8_length(s));
  if (index < 0) return std::nullopt;
  std::size_t pos = 0;
  for (std::int64_t i = 0; pos < s.size(); ++i) {
    std::size_t len = 1;
    decode_at(s, pos, len);
    if (i == index) return std::make_pair(pos, len);
    pos += len;
  }
  return std::nullopt;
}

}  // namespace

const Value* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

Interpreter::Interpreter(Limits limits, std::function<std::time_t()> clock, bool utc)
    : limits_(limits), clock_(std::move(clock)), utc_(utc) {}

Text Interpreter::render(const Body& body, const Dict& context) {
  for (auto& [name, value] : make_globals().entries) root_.vars[name.text().str()] = std::move(value);
  for (const auto& [name, value] : context.entries) root_.vars[name.text().str()] = value;
  Text result;
  out_ = &result;
  try {
    exec_body(body, root_);
  } catch (Failure& failure) {
    failure.set_line_if_unknown(line_);
    throw;
  }
  out_ = nullptr;
  return result;
}

void Interpreter::count_steps(std::size_t n) {
  steps_ += n;
  if (steps_ > limits_.max_steps) {
    fail(FailureKind::kLimit,
         "template exceeded the limit of " + std::to_string(limits_.max_steps) + " steps");
  }
}

void Interpreter::check_size(std::size_t bytes) const {
  if (bytes > limits_.max_output_bytes) {
    fail(FailureKind::kLimit,
         "template output exceeded the limit of " + std::to_string(limits_.max_output_bytes) + " bytes");
  }
}

void Interpreter::emit(const Text& text) {
  check_size(out_->size() + text.size());
  out_->append(text);
}

Text Interpreter::capture(const Body& body, Scope& scope) {
  Text captured;
  Text* saved = out_;
  out_ = &captured;
  exec_body(body, scope);
  out_ = saved;
  return captured;
}

Interpreter::Flow Interpreter::exec_body(const Body& body, Scope& scope) {
  for (const auto& stmt : body) {
    const Flow flow = exec(*stmt, scope);
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s, Scope& scope) {
  count_steps();
  line_ = s.line;
  switch (s.kind) {
    case StmtKind::kText:
      check_size(out_->size() + s.text.size());
      out_->append_trusted(s.text);
      return Flow::kNormal;
    case StmtKind::kOutput:
      emit(to_text(eval(*s.expr, scope)));
      return Flow::kNormal;
    case StmtKind::kIf:
      for (const auto& [condition, body] : s.branches) {
        if (truthy(eval(*condition, scope))) return exec_body(body, scope);
      }
      return exec_body(s.else_body, scope);
    case StmtKind::kFor:
      return exec_for(s, scope);
    case StmtKind::kSet:
      exec_set(s, scope);
      return Flow::kNormal;
    case StmtKind::kSetBlock: {
      Value value = Value::string(capture(s.body, scope));
      if (s.expr) {
        Scope holder{&scope, {}};
        holder.vars[kFilterInput] = std::move(value);
        value = eval(*s.expr, holder);
      }
      assign(scope, s.targets[0], std::move(value), s.line);
      return Flow::kNormal;
    }
    case StmtKind::kMacro:
      scope.vars[s.text] = make_macro(s, nullptr, nullptr);
      return Flow::kNormal;
    case StmtKind::kCallBlock: {
      auto alive = std::make_shared<bool>(true);
      const Value caller = make_macro(s, &scope, alive);
      const Expr& call = *s.expr;
      const Value callee = eval(*call.operands[0], scope);
      CallArgs args;
      eval_args(call, scope, 1, args);
      args.named.emplace_back("caller", caller);
      const Value result = this->call(callee, args);
      *alive = false;
      emit(to_text(result));
      return Flow::kNormal;
    }
    case StmtKind::kFilterBlock: {
      Scope holder{&scope, {}};
      holder.vars[kFilterInput] = Value::string(capture(s.body, scope));
      emit(to_text(eval(*s.expr, holder)));
      return Flow::kNormal;
    }
    case StmtKind::kWith: {
      Scope inner{&scope, {}};
      for (const auto& [name, expr] : s.assignments) inner.vars[name] = eval(*expr, inner);
      return exec_body(s.body, inner);
    }
    case StmtKind::kBreak:
      return Flow::kBreak;
    case StmtKind::kContinue:
      return Flow::kContinue;
    case StmtKind::kScope:
      return exec_body(s.body, scope);
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec_for(const Stmt& s, Scope& scope) {
  const Value iterable = eval(*s.expr, scope);
  std::vector<Value> items;
  switch (iterable.kind()) {
    case Kind::kList:
      items = iterable.list().items;
      break;
    case Kind::kDict:
      for (const auto& [key, value] : iterable.dict().entries) items.push_back(key);
      break;
    case Kind::kString: {
      const Text& text = iterable.text();
      std::size_t pos = 0;
      for (std::string_view c : utf8_chars(text.str())) {
        items.push_back(Value::string(text.substr(pos, c.size())));
        pos += c.size();
      }
      break;
    }
    case Kind::kUndefined:
      break;  // Jinja2's Undefined iterates as empty
    default:
      fail(FailureKind::kType, "'" + type_name(iterable) + "' object is not iterable");
  }

  auto bind = [&](Scope& target, const Value& item) {
    if (s.targets.size() == 1) {
      target.vars[s.targets[0].first] = item;
      return;
    }
    if (!item.is_list() && !item.is_string()) {
      fail(FailureKind::kType, "cannot unpack non-iterable " + type_name(item) + " object");
    }
    const std::size_t n = item.is_list() ? item.list().items.size() : utf8_length(item.text().str());
    if (n != s.targets.size()) {
      fail(FailureKind::kValue,
           n < s.targets.size() ? "not enough values to unpack" : "too many values to unpack");
    }
    for (std::size_t i = 0; i < n; ++i) {
      target.vars[s.targets[i].first] = get_item(item, Value::integer(static_cast<std::int64_t>(i)));
    }
  };

  count_steps(items.size());
  if (s.condition) {
    std::vector<Value> kept;
    for (const Value& item : items) {
      Scope probe{&scope, {}};
      bind(probe, item);
      if (truthy(eval(*s.condition, probe))) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    Scope inner{&scope, {}};
    exec_body(s.else_body, inner);
    return Flow::kNormal;
  }

  const auto n = static_cast<std::int64_t>(items.size());
  auto cycle_index = std::make_shared<std::int64_t>(0);
  const Value cycle = Value::callable(
      "cycle",
      [cycle_index](Interpreter&, CallArgs& args) -> Value {
        if (args.positional.empty()) fail(FailureKind::kType, "no items for cycling given");
        return args.positional[static_cast<std::size_t>(*cycle_index) % args.positional.size()];
      },
      "method");
  for (std::int64_t i = 0; i < n; ++i) {
    *cycle_index = i;
    Scope inner{&scope, {}};
    bind(inner, items[static_cast<std::size_t>(i)]);
    // The keys are built once: a loop's dict is made again for every item.
    static const std::array<Value, 12> kLoopKeys = [] {
      std::array<Value, 12> keys;
      const char* names[] = {"index",  "index0", "revindex", "revindex0", "first",    "last",
                             "length", "depth",  "depth0",   "previtem",  "nextitem", "cycle"};
      for (std::size_t k = 0; k < keys.size(); ++k) keys[k] = Value::string(Text(names[k]));
      return keys;
    }();
    Dict loop;
    loop.entries.reserve(kLoopKeys.size());
    loop.entries.emplace_back(kLoopKeys[0], Value::integer(i + 1));
    loop.entries.emplace_back(kLoopKeys[1], Value::integer(i));
    loop.entries.emplace_back(kLoopKeys[2], Value::integer(n - i));
    loop.entries.emplace_back(kLoopKeys[3], Value::integer(n - i - 1));
    loop.entries.emplace_back(kLoopKeys[4], Value::boolean(i == 0));
    loop.entries.emplace_back(kLoopKeys[5], Value::boolean(i == n - 1));
    loop.entries.emplace_back(kLoopKeys[6], Value::integer(n));
    loop.entries.emplace_back(kLoopKeys[7], Value::integer(1));
    loop.entries.emplace_back(kLoopKeys[8], Value::integer(0));
    loop.entries.emplace_back(kLoopKeys[9], i > 0 ? items[static_cast<std::size_t>(i - 1)]
                                                  : Value::undefined("there is no previous item"));
    loop.entries.emplace_back(kLoopKeys[10], i + 1 < n ? items[static_cast<std::size_t>(i + 1)]
                                                       : Value::undefined("there is no next item"));
    loop.entries.emplace_back(kLoopKeys[11], cycle);
    inner.vars["loop"] = Value::dict(std::move(loop));
    const Flow flow = exec_body(s.body, inner);
    if (flow == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

void Interpreter::exec_set(const Stmt& s, Scope& scope) {
  Value value = eval(*s.expr, scope);
  if (s.targets.size() == 1) {
    assign(scope, s.targets[0], std::move(value), s.line);
    return;
  }
  if (!value.is_list())
    fail(FailureKind::kType, "cannot unpack non-iterable " + type_name(value) + " object");
  const auto& items = value.list().items;
  if (items.size() != s.targets.size()) {
    fail(FailureKind::kValue,
         items.size() < s.targets.size() ? "not enough values to unpack" : "too many values to unpack");
  }
  for (std::size_t i = 0; i < items.size(); ++i) assign(scope, s.targets[i], items[i], s.line);
}

void Interpreter::assign(Scope& scope, const std::pair<std::string, std::string>& target, Value value,
                         int line) {
  if (target.second.empty()) {
    scope.vars[target.first] = std::move(value);
    return;
  }
  const Value* object = scope.lookup(target.first);
  if (!object || !object->is_namespace()) {
    fail(FailureKind::kType, "cannot assign attribute on non-namespace object", line);
  }
  object->ns().set(Text(target.second), std::move(value));
}

Value Interpreter::make_macro(const Stmt& macro, Scope* caller_scope, std::shared_ptr<bool> alive) {
  const Stmt* m = &macro;
  const std::string name = caller_scope ? "caller" : macro.text;
  return Value::callable(
      name,
      [m, caller_scope, alive](Interpreter& in, CallArgs& args) -> Value {
        if (alive && !*alive) fail(FailureKind::kValue, "caller() used outside its call block");
        return in.invoke_macro(*m, args, caller_scope ? caller_scope : &in.root_);
      },
      "Macro");
}

Value Interpreter::invoke_macro(const Stmt& m, CallArgs& args, Scope* parent) {
  if (++call_depth_ > limits_.max_call_depth) {
    fail(FailureKind::kLimit, "macro calls nested deeper than " + std::to_string(limits_.max_call_depth));
  }
  const int saved_line = line_;
  Scope scope{parent, {}};
  std::vector<Value> varargs;
  Dict kwargs;
  for (std::size_t i = 0; i < args.positional.size(); ++i) {
    if (i < m.params.size()) {
      scope.vars[m.params[i].name] = args.positional[i];
    } else {
      varargs.push_back(args.positional[i]);
    }
  }
  for (auto& [name, value] : args.named) {
    auto param =
        std::find_if(m.params.begin(), m.params.end(), [&](const Param& p) { return p.name == name; });
    if (param != m.params.end()) {
      scope.vars[name] = value;
    } else if (name == "caller") {
      scope.vars["caller"] = value;
    } else {
      kwargs.set(Text(name), value);
    }
  }
  for (const Param& p : m.params) {
    if (scope.vars.count(p.name)) continue;
    scope.vars[p.name] = p.default_value ? eval(*p.default_value, scope)
                                         : Value::undefined("parameter '" + p.name + "' was not provided");
  }
  scope.vars["varargs"] = Value::list(std::move(varargs), /*is_tuple=*/true);
  scope.vars["kwargs"] = Value::dict(std::move(kwargs));
  Text rendered = capture(m.body, scope);
  line_ = saved_line;
  --call_depth_;
  return Value::string(std::move(rendered));
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) fail(FailureKind::kUndefined, callee.undefined_reason());
  if (!callee.is_callable()) fail(FailureKind::kType, "'" + type_name(callee) + "' object is not callable");
  return callee.callable().call(*this, args);
}

Value Interpreter::get_attribute(const Value& object, std::string_view name) const {
  switch (object.kind()) {
    case Kind::kUndefined:
      fail(FailureKind::kUndefined, object.undefined_reason());
    case Kind::kDict: {
      if (auto method = find_method(object, name)) return *method;
      if (const Value* v = object.dict().find(name)) return *v;
      return Value::undefined("'dict object' has no attribute '" + std::string(name) + "'");
    }
    case Kind::kNamespace: {
      if (const Value* v = object.ns().attributes.find(name)) return *v;
      return Value::undefined("'Namespace' object has no attribute '" + std::string(name) + "'");
    }
    default:
      if (auto method = find_method(object, name)) return *method;
      return Value::undefined("'" + type_name(object) + " object' has no attribute '" + std::string(name) +
                              "'");
  }
}

Value Interpreter::get_item(const Value& object, const Value& key) {
  if (object.is_string()) count_steps(work_units(object));  // indexing walks the UTF-8
  switch (object.kind()) {
    case Kind::kUndefined:
      fail(FailureKind::kUndefined, object.undefined_reason());
    case Kind::kList:
    case Kind::kString: {
      if (!key.is_int() && !key.is_bool()) break;
      std::int64_t i = key.as_int();
      if (object.is_list()) {
        const auto n = static_cast<std::int64_t>(object.list().items.size());
        if (i < 0) i += n;
        if (i < 0 || i >= n)
          return Value::undefined(type_name(object) + " object has no element " +
                                  std::to_string(key.as_int()));
        return object.list().items[static_cast<std::size_t>(i)];
      }
      const auto at = char_at(object.text().str(), i);
      if (!at) return Value::undefined("str object has no element " + std::to_string(key.as_int()));
      return Value::string(object.text().substr(at->first, at->second));
    }
    case Kind::kDict:
      // Python's d[key] raises for an unhashable key; Jinja2 turns that, like a miss, into Undefined.
      if (hashable(key)) {
        if (const Value* v = object.dict().find(key)) return *v;
      }
      break;
    case Kind::kNamespace:
      if (key.is_string()) {
        if (const Value* v = object.ns().attributes.find(key.text().str())) return *v;
      }
      break;
    default:
      break;
  }
  if (key.is_string()) {
    if (auto method = find_method(object, key.text().str())) return *method;
  }
  if (key.is_string()) {
    return Value::undefined("'" + type_name(object) + " object' has no attribute '" + key.text().str() + "'");
  }
  return Value::undefined("'" + type_name(object) + " object' has no element " + repr_text(key).str());
}

Value Interpreter::eval_slice(const Value& object, const Expr& slice, Scope& scope) {
  auto part = [&](std::size_t i) {
    return slice.operands[i] ? eval(*slice.operands[i], scope) : Value::none();
  };
  const Value start = part(0);
  const Value stop = part(1);
  const Value step = part(2);
  if (object.is_undefined()) fail(FailureKind::kUndefined, object.undefined_reason());
  count_steps(work_units(object));
  if (object.is_list()) {
    const auto& items = object.list().items;
    std::vector<Value> out;
    for (std::size_t i : slice_positions(static_cast<std::int64_t>(items.size()), start, stop, step)) {
      out.push_back(items[i]);
    }
    return Value::list(std::move(out), object.list().is_tuple);
  }
  if (object.is_string()) {
    const Text& text = object.text();
    const auto offsets = char_offsets(text.str());
    Text out;
    for (std::size_t i : slice_positions(static_cast<std::int64_t>(offsets.size()) - 1, start, stop, step)) {
      out.append(text.substr(offsets[i], offsets[i + 1] - offsets[i]));
    }
    return Value::string(std::move(out));
  }
  fail(FailureKind::kType, "'" + type_name(object) + "' object is not subscriptable");
}

void Interpreter::eval_args(const Expr& e, Scope& scope, std::size_t first, CallArgs& args) {
  for (std::size_t i = first; i < e.operands.size(); ++i)
    args.positional.push_back(eval(*e.operands[i], scope));
  for (const auto& [name, expr] : e.kwargs) args.named.emplace_back(name, eval(*expr, scope));
}

Value Interpreter::eval_call(const Expr& e, Scope& scope) {
  const Value callee = eval(*e.operands[0], scope);
  CallArgs args;
  eval_args(e, scope, 1, args);
  line_ = e.line;
  return call(callee, args);
}

Value Interpreter::eval(const Expr& e, Scope& scope) {
  count_steps();
  line_ = e.line;
  switch (e.kind) {
    case ExprKind::kLiteral:
      return e.literal;
    case ExprKind::kName: {
      if (const Value* v = scope.lookup(e.name)) return *v;
      return Value::undefined("'" + e.name + "' is undefined");
    }
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      items.reserve(e.operands.size());
      for (const auto& op : e.operands) items.push_back(eval(*op, scope));
      return Value::list(std::move(items), e.kind == ExprKind::kTuple);
    }
    case ExprKind::kDict: {
      Dict d;
      for (std::size_t i = 0; i + 1 < e.operands.size(); i += 2) {
        // Any hashable key, as in Python: {1: 'a'} has the integer 1, not the string '1'.
        Value key = eval(*e.operands[i], scope);
        require_hashable(key);
        d.set(std::move(key), eval(*e.operands[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::kAttribute: {
      const Value object = eval(*e.operands[0], scope);
      line_ = e.line;
      return get_attribute(object, e.name);
    }
    case ExprKind::kSubscript: {
      const Value object = eval(*e.operands[0], scope);
      if (e.operands[1]->kind == ExprKind::kSlice) return eval_slice(object, *e.operands[1], scope);
      const Value key = eval(*e.operands[1], scope);
      line_ = e.line;
      return get_item(object, key);
    }
    case ExprKind::kSlice:
      fail(FailureKind::kSyntax, "slice outside a subscript");
    case ExprKind::kCall:
      return eval_call(e, scope);
    case ExprKind::kFilter: {
      const Value input = eval(*e.operands[0], scope);
      CallArgs args;
      eval_args(e, scope, 1, args);
      line_ = e.line;
      // Reached only where the parser let an unknown name through (inside an if), as Jinja2 does.
      if (!has_filter(e.name)) fail(FailureKind::kValue, "No filter named '" + e.name + "' found.");
      return apply_filter(*this, e.name, input, args);
    }
    case ExprKind::kTest: {
      const Value input = eval(*e.operands[0], scope);
      CallArgs args;
      eval_args(e, scope, 1, args);
      line_ = e.line;
      if (!has_test(e.name)) fail(FailureKind::kValue, "No test named '" + e.name + "' found.");
      return Value::boolean(apply_test(*this, e.name, input, args) != e.negated);
    }
    case ExprKind::kUnary: {
      const Value operand = eval(*e.operands[0], scope);
      if (e.name == "not") return Value::boolean(!truthy(operand));
      if (operand.is_undefined()) fail(FailureKind::kUndefined, operand.undefined_reason());
      if (!operand.is_number()) {
        fail(FailureKind::kType, "bad operand type for unary " + e.name + ": '" + type_name(operand) + "'");
      }
      if (e.name == "+") return operand.is_float() ? operand : Value::integer(operand.as_int());
      if (operand.is_float()) return Value::floating(-operand.as_double());
      if (operand.as_int() == INT64_MIN) fail(FailureKind::kLimit, "integer overflow");
      return Value::integer(-operand.as_int());
    }
    case ExprKind::kBinary: {
      if (e.name == "and" || e.name == "or") {
        Value left = eval(*e.operands[0], scope);
        const bool t = truthy(left);
        if ((e.name == "and") != t) return left;
        return eval(*e.operands[1], scope);
      }
      const Value left = eval(*e.operands[0], scope);
      const Value right = eval(*e.operands[1], scope);
      line_ = e.line;
      return binary_operator(*this, e.name, left, right);
    }
    case ExprKind::kConditional: {
      if (truthy(eval(*e.operands[1], scope))) return eval(*e.operands[0], scope);
      if (e.operands[2]) return eval(*e.operands[2], scope);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
    }
  }
  return Value();
}

}  // namespace pensieve::jinja
