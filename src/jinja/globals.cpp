// The global functions Hugging Face gives chat templates: range, namespace, dict,
// raise_exception(msg) and strftime_now(fmt).
#include <ctime>

#include "jinja/builtins.hpp"
#include "jinja/error.hpp"
#include "jinja/interpreter.hpp"

namespace pensieve::jinja {
namespace {

std::int64_t int_arg(const Value& v) {
  if (!v.is_int() && !v.is_bool())
    fail(FailureKind::kType, "'" + type_name(v) + "' object cannot be interpreted as an integer");
  return v.as_int();
}

Value g_range(Interpreter& in, CallArgs& args) {
  std::int64_t start = 0;
  std::int64_t stop = 0;
  std::int64_t step = 1;
  const auto& a = args.positional;
  if (a.size() == 1) {
    stop = int_arg(a[0]);
  } else if (a.size() == 2 || a.size() == 3) {
    start = int_arg(a[0]);
    stop = int_arg(a[1]);
    if (a.size() == 3) step = int_arg(a[2]);
  } else {
    fail(FailureKind::kType, "range expected 1 to 3 arguments, got " + std::to_string(a.size()));
  }
  if (step == 0) fail(FailureKind::kValue, "range() arg 3 must not be zero");
  std::vector<Value> items;
  for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    in.count_steps();  // bounds the list by the step limit
    items.push_back(Value::integer(i));
    if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
  }
  return Value::list(std::move(items));
}

Dict keyword_dict(const CallArgs& args, std::string_view function) {
  Dict d;
  for (const Value& p : args.positional) {
    if (!p.is_dict())
      fail(FailureKind::kType, std::string(function) + "() positional argument must be a dict");
    for (const auto& [k, v] : p.dict().entries) d.set(k, v);
  }
  for (const auto& [name, value] : args.named) d.set(Text(name), value);
  return d;
}

Value g_namespace(Interpreter&, CallArgs& args) {
  return Value::make_namespace(keyword_dict(args, "namespace"));
}
Value g_dict(Interpreter&, CallArgs& args) {
  return Value::dict(keyword_dict(args, "dict"));
}

Value g_raise_exception(Interpreter&, CallArgs& args) {
  fail(FailureKind::kRaised,
       args.positional.empty() ? "raise_exception called" : to_text(args.positional[0]).str());
}

Value g_strftime_now(Interpreter& in, CallArgs& args) {
  if (args.positional.empty() || !args.positional[0].is_string())
    fail(FailureKind::kType, "strftime_now needs a format string");
  const std::string& format = args.positional[0].text().str();
  const std::time_t now = in.now();
  std::tm parts{};
  if (in.utc()) {
    gmtime_r(&now, &parts);
  } else {
    localtime_r(&now, &parts);
  }
  if (format.empty()) return Value::string(std::string());
  std::string buffer(format.size() * 8 + 64, '\0');
  const std::size_t n = std::strftime(buffer.data(), buffer.size(), format.c_str(), &parts);
  if (n == 0) fail(FailureKind::kValue, "strftime_now: format produces too much or nothing");
  buffer.resize(n);
  return Value::string(std::move(buffer));
}

}  // namespace

Dict make_globals() {
  Dict g;
  g.set(Text("range"), Value::callable("range", g_range));
  g.set(Text("namespace"), Value::callable("namespace", g_namespace, "type"));
  g.set(Text("dict"), Value::callable("dict", g_dict, "type"));
  g.set(Text("raise_exception"), Value::callable("raise_exception", g_raise_exception));
  g.set(Text("strftime_now"), Value::callable("strftime_now", g_strftime_now));
  return g;
}

}  // namespace pensieve::jinja
