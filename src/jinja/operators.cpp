// Python's binary operators over template values.
#include <cmath>

#include "jinja/builtins.hpp"
#include "jinja/error.hpp"
#include "jinja/interpreter.hpp"

namespace pensieve::jinja {
namespace {

bool is_integral(const Value& v) {
  return v.is_int() || v.is_bool();
}

[[noreturn]] void unsupported(std::string_view op, const Value& a, const Value& b) {
  fail(FailureKind::kType, "unsupported operand type(s) for " + std::string(op) + ": '" + type_name(a) +
                               "' and '" + type_name(b) + "'");
}

template <typename Op>
Value checked(std::int64_t x, std::int64_t y, Op op) {
  std::int64_t result = 0;
  if (op(x, y, &result)) fail(FailureKind::kLimit, "integer overflow");
  return Value::integer(result);
}

Value repeat(Interpreter& in, const Value& seq, std::int64_t times) {
  if (times <= 0) return seq.is_string() ? Value::string(Text()) : Value::list({}, seq.list().is_tuple);
  const auto n = static_cast<std::size_t>(times);
  if (seq.is_string()) {
    const Text& t = seq.text();
    if (t.empty()) return seq;
    if (n > (std::size_t{1} << 40) / t.size()) in.check_size(SIZE_MAX);
    in.account_string(t.size() * n);
    Text out;
    for (std::size_t i = 0; i < n; ++i) out.append(t);
    return Value::string(std::move(out));
  }
  const auto& items = seq.list().items;
  if (items.empty()) return seq;
  in.count_steps(items.size() * std::min<std::size_t>(n, SIZE_MAX / items.size() / 2));
  std::vector<Value> out;
  for (std::size_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.list().is_tuple);
}

Value arithmetic(std::string_view op, const Value& a, const Value& b) {
  if (!a.is_number() || !b.is_number()) unsupported(op, a, b);
  const bool ints = is_integral(a) && is_integral(b);
  if (op == "/") {
    if (b.as_double() == 0.0) fail(FailureKind::kValue, "division by zero");
    return Value::floating(a.as_double() / b.as_double());
  }
  if (ints) {
    const std::int64_t x = a.as_int();
    const std::int64_t y = b.as_int();
    if (op == "+")
      return checked(x, y, [](auto a, auto b, auto* r) { return __builtin_add_overflow(a, b, r); });
    if (op == "-")
      return checked(x, y, [](auto a, auto b, auto* r) { return __builtin_sub_overflow(a, b, r); });
    if (op == "*")
      return checked(x, y, [](auto a, auto b, auto* r) { return __builtin_mul_overflow(a, b, r); });
    if (op == "//" || op == "%") {
      if (y == 0) fail(FailureKind::kValue, "integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) fail(FailureKind::kLimit, "integer overflow");
      std::int64_t q = x / y;
      std::int64_t m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        --q;
        m += y;
      }
      return Value::integer(op == "//" ? q : m);
    }
    if (op == "**") {
      if (y < 0) return Value::floating(std::pow(static_cast<double>(x), static_cast<double>(y)));
      std::int64_t result = 1;
      for (std::int64_t i = 0; i < y; ++i) {
        if (__builtin_mul_overflow(result, x, &result)) fail(FailureKind::kLimit, "integer overflow");
        if (result == 0 || result == 1) break;
      }
      return Value::integer(result);
    }
  }
  const double x = a.as_double();
  const double y = b.as_double();
  if (op == "+") return Value::floating(x + y);
  if (op == "-") return Value::floating(x - y);
  if (op == "*") return Value::floating(x * y);
  if (op == "**") return Value::floating(std::pow(x, y));
  if (y == 0.0) fail(FailureKind::kValue, "float division by zero");
  const double q = std::floor(x / y);
  if (op == "//") return Value::floating(q);
  if (op == "%") {
    double m = std::fmod(x, y);
    if (m != 0.0 && ((m < 0) != (y < 0))) m += y;
    return Value::floating(m);
  }
  unsupported(op, a, b);
}

}  // namespace

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::kString:
      if (!item.is_string()) {
        fail(FailureKind::kType, "'in <string>' requires string as left operand, not " + type_name(item));
      }
      return container.text().str().find(item.text().str()) != std::string::npos;
    case Kind::kList:
      for (const Value& v : container.list().items) {
        if (equals(v, item)) return true;
      }
      return false;
    case Kind::kDict:
      require_hashable(item);  // Python's `[1] in d` raises even when d is empty
      return container.dict().find(item) != nullptr;
    case Kind::kUndefined:
      return false;  // Jinja2's Undefined iterates as empty
    default:
      fail(FailureKind::kType, "argument of type '" + type_name(container) + "' is not iterable");
  }
}

Value binary_operator(Interpreter& in, std::string_view op, const Value& a, const Value& b) {
  in.count_steps(work_units(a) + work_units(b));  // comparing, searching and copying walk both
  if (op == "==") return Value::boolean(equals(a, b));
  if (op == "!=") return Value::boolean(!equals(a, b));
  if (op == "in") return Value::boolean(contains(b, a));
  if (op == "not in") return Value::boolean(!contains(b, a));
  if (op == "~") {
    Text out = to_text(a);
    const Text right = to_text(b);
    in.account_string(out.size() + right.size());
    out.append(right);
    return Value::string(std::move(out));
  }
  if (a.is_undefined()) fail(FailureKind::kUndefined, a.undefined_reason());
  if (b.is_undefined()) fail(FailureKind::kUndefined, b.undefined_reason());
  if (op == "<") return Value::boolean(compare(a, b) < 0);
  if (op == "<=") return Value::boolean(compare(a, b) <= 0);
  if (op == ">") return Value::boolean(compare(a, b) > 0);
  if (op == ">=") return Value::boolean(compare(a, b) >= 0);
  if (op == "+") {
    if (a.is_string() || b.is_string()) {
      if (!a.is_string()) unsupported(op, a, b);
      if (!b.is_string()) {
        fail(FailureKind::kType, "can only concatenate str (not \"" + type_name(b) + "\") to str");
      }
      in.account_string(a.text().size() + b.text().size());
      Text out = a.text();
      out.append(b.text());
      return Value::string(std::move(out));
    }
    if (a.is_list()) {
      if (!b.is_list() || a.list().is_tuple != b.list().is_tuple) {
        const std::string kind = a.list().is_tuple ? "tuple" : "list";
        fail(FailureKind::kType,
             "can only concatenate " + kind + " (not \"" + type_name(b) + "\") to " + kind);
      }
      in.count_steps(a.list().items.size() + b.list().items.size());
      std::vector<Value> items = a.list().items;
      items.insert(items.end(), b.list().items.begin(), b.list().items.end());
      return Value::list(std::move(items), a.list().is_tuple);
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && is_integral(b)) return repeat(in, a, b.as_int());
    if ((b.is_string() || b.is_list()) && is_integral(a)) return repeat(in, b, a.as_int());
  }
  if (op == "%" && a.is_string()) {
    fail(FailureKind::kType, "printf-style '%' formatting is not supported; use the format filter");
  }
  return arithmetic(op, a, b);
}

}  // namespace pensieve::jinja
