// The tests of `value is name(args)`, with Jinja2 3.1's semantics (e.g. a dict is a sequence,
// Undefined is iterable, True is a number).
#include <unordered_map>

#include "jinja/builtins.hpp"
#include "jinja/error.hpp"
#include "jinja/interpreter.hpp"
#include "jinja/strings.hpp"

namespace pensieve::jinja {
namespace {

using TestFn = bool (*)(const Value&, const CallArgs&);

const Value& arg0(const CallArgs& args, std::string_view test) {
  if (args.positional.empty()) fail(FailureKind::kType, "test '" + std::string(test) + "' needs an argument");
  return args.positional[0];
}

bool t_defined(const Value& v, const CallArgs&) {
  return !v.is_undefined();
}
bool t_undefined(const Value& v, const CallArgs&) {
  return v.is_undefined();
}
bool t_none(const Value& v, const CallArgs&) {
  return v.is_none();
}
bool t_boolean(const Value& v, const CallArgs&) {
  return v.is_bool();
}
bool t_true(const Value& v, const CallArgs&) {
  return v.is_bool() && v.as_bool();
}
bool t_false(const Value& v, const CallArgs&) {
  return v.is_bool() && !v.as_bool();
}
bool t_integer(const Value& v, const CallArgs&) {
  return v.is_int();
}
bool t_float(const Value& v, const CallArgs&) {
  return v.is_float();
}
bool t_number(const Value& v, const CallArgs&) {
  return v.is_number();
}
bool t_string(const Value& v, const CallArgs&) {
  return v.is_string();
}
bool t_mapping(const Value& v, const CallArgs&) {
  return v.is_dict();
}
bool t_iterable(const Value& v, const CallArgs&) {
  return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
}
bool t_sequence(const Value& v, const CallArgs&) {
  return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
}
bool t_callable(const Value& v, const CallArgs&) {
  return v.is_callable();
}
bool t_escaped(const Value&, const CallArgs&) {
  return false;
}
bool t_sameas(const Value& v, const CallArgs& a) {
  const Value& other = arg0(a, "sameas");
  if (v.kind() != other.kind()) return false;
  if (v.identity() != nullptr) return v.identity() == other.identity();
  return equals(v, other);  // None, booleans, small numbers are singletons in practice
}
bool t_in(const Value& v, const CallArgs& a) {
  return contains(arg0(a, "in"), v);
}
bool t_eq(const Value& v, const CallArgs& a) {
  return equals(v, arg0(a, "eq"));
}
bool t_ne(const Value& v, const CallArgs& a) {
  return !equals(v, arg0(a, "ne"));
}
bool t_lt(const Value& v, const CallArgs& a) {
  return compare(v, arg0(a, "lt")) < 0;
}
bool t_le(const Value& v, const CallArgs& a) {
  return compare(v, arg0(a, "le")) <= 0;
}
bool t_gt(const Value& v, const CallArgs& a) {
  return compare(v, arg0(a, "gt")) > 0;
}
bool t_ge(const Value& v, const CallArgs& a) {
  return compare(v, arg0(a, "ge")) >= 0;
}
bool require_int(const Value& v, std::string_view test) {
  if (!v.is_int() && !v.is_bool())
    fail(FailureKind::kType, "test '" + std::string(test) + "' needs an integer");
  return true;
}
bool t_odd(const Value& v, const CallArgs&) {
  return require_int(v, "odd") && v.as_int() % 2 != 0;
}
bool t_even(const Value& v, const CallArgs&) {
  return require_int(v, "even") && v.as_int() % 2 == 0;
}
bool t_divisibleby(const Value& v, const CallArgs& a) {
  const Value& d = arg0(a, "divisibleby");
  require_int(v, "divisibleby");
  require_int(d, "divisibleby");
  if (d.as_int() == 0) fail(FailureKind::kValue, "integer division or modulo by zero");
  return v.as_int() % d.as_int() == 0;
}
bool t_lower(const Value& v, const CallArgs&) {
  return v.is_string() && to_lower(v.text().str()) == v.text().str();
}
bool t_upper(const Value& v, const CallArgs&) {
  return v.is_string() && to_upper(v.text().str()) == v.text().str();
}
bool t_filter(const Value& v, const CallArgs&) {
  return v.is_string() && has_filter(v.text().str());
}
bool t_test(const Value& v, const CallArgs&) {
  return v.is_string() && has_test(v.text().str());
}

const std::unordered_map<std::string_view, TestFn>& tests() {
  static const std::unordered_map<std::string_view, TestFn> table = {
      {"defined", t_defined},
      {"undefined", t_undefined},
      {"none", t_none},
      {"boolean", t_boolean},
      {"true", t_true},
      {"false", t_false},
      {"integer", t_integer},
      {"float", t_float},
      {"number", t_number},
      {"string", t_string},
      {"mapping", t_mapping},
      {"iterable", t_iterable},
      {"sequence", t_sequence},
      {"callable", t_callable},
      {"escaped", t_escaped},
      {"sameas", t_sameas},
      {"in", t_in},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"==", t_eq},
      {"ne", t_ne},
      {"!=", t_ne},
      {"lt", t_lt},
      {"lessthan", t_lt},
      {"<", t_lt},
      {"le", t_le},
      {"<=", t_le},
      {"gt", t_gt},
      {"greaterthan", t_gt},
      {">", t_gt},
      {"ge", t_ge},
      {">=", t_ge},
      {"odd", t_odd},
      {"even", t_even},
      {"divisibleby", t_divisibleby},
      {"lower", t_lower},
      {"upper", t_upper},
      {"filter", t_filter},
      {"test", t_test},
  };
  return table;
}

}  // namespace

bool has_test(std::string_view name) {
  return tests().count(name) != 0;
}

bool apply_test(Interpreter& in, std::string_view name, const Value& input, CallArgs& args) {
  in.count_steps(1 + work_units(input) + (args.positional.empty() ? 0 : work_units(args.positional[0])));
  auto it = tests().find(name);
  if (it == tests().end()) fail(FailureKind::kValue, "No test named '" + std::string(name) + "'.");
  return it->second(input, args);
}

}  // namespace pensieve::jinja
