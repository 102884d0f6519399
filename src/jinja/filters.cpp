// The filters chat templates use (`value | name(args)`) over sequences, mappings and numbers,
// with Jinja2 3.1's semantics; the string filters are in filters_text.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <unordered_map>
#include <utility>

#include "jinja/builtins.hpp"
#include "jinja/error.hpp"
#include "jinja/filter_support.hpp"
#include "jinja/interpreter.hpp"
#include "jinja/strings.hpp"

namespace pensieve::jinja {

bool flag(const CallArgs& args, std::size_t index, std::string_view name, bool fallback) {
  const Value* v = args.get(index, name);
  return v ? truthy(*v) : fallback;
}

namespace {

// The items a filter iterates: list items, dict keys, string characters; Undefined is empty.
std::vector<Value> iterate(const Value& v, std::string_view filter) {
  switch (v.kind()) {
    case Kind::kList:
      return v.list().items;
    case Kind::kDict: {
      std::vector<Value> keys;
      for (const auto& [k, value] : v.dict().entries) keys.push_back(k);
      return keys;
    }
    case Kind::kString: {
      std::vector<Value> chars;
      std::size_t pos = 0;
      for (std::string_view c : utf8_chars(v.text().str())) {
        chars.push_back(Value::string(v.text().substr(pos, c.size())));
        pos += c.size();
      }
      return chars;
    }
    case Kind::kUndefined:
      return {};
    default:
      fail(FailureKind::kType,
           "'" + type_name(v) + "' object is not iterable (in filter " + std::string(filter) + ")");
  }
}

// Jinja2's attribute getter for map/selectattr/sort: dotted path, item lookup first.
Value lookup_path(Interpreter& in, const Value& item, const std::string& path) {
  Value current = item;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    Value key = Value::string(part);
    if (!part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      key = Value::integer(std::stoll(part));
    }
    current = in.get_item(current, key);
    if (dot == std::string::npos) return current;
    start = dot + 1;
  }
}

std::string attribute_arg(const CallArgs& args, std::size_t index) {
  const Value* v = args.get(index, "attribute");
  if (!v || v->is_none()) return "";
  return to_text(*v).str();
}

Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(to_lower(v.text().str()));
  return v;
}

Value f_length(Interpreter&, const Value& v, CallArgs&) {
  switch (v.kind()) {
    case Kind::kString:
      return Value::integer(static_cast<std::int64_t>(utf8_length(v.text().str())));
    case Kind::kList:
      return Value::integer(static_cast<std::int64_t>(v.list().items.size()));
    case Kind::kDict:
      return Value::integer(static_cast<std::int64_t>(v.dict().entries.size()));
    case Kind::kUndefined:
      return Value::integer(0);
    default:
      fail(FailureKind::kType, "object of type '" + type_name(v) + "' has no len()");
  }
}

Value f_join(Interpreter& in, const Value& v, CallArgs& args) {
  const Value* sep_value = args.get(0, "d");
  const Text sep = sep_value ? to_text(*sep_value) : Text();
  const std::string attribute = attribute_arg(args, 1);
  Text out;
  bool first = true;
  for (const Value& item : iterate(v, "join")) {
    if (!first) out.append(sep);
    first = false;
    out.append(to_text(attribute.empty() ? item : lookup_path(in, item, attribute)));
    in.check_size(out.size());
    in.count_steps();
  }
  return Value::string(std::move(out));
}

Value f_first(Interpreter&, const Value& v, CallArgs&) {
  auto items = iterate(v, "first");
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Interpreter&, const Value& v, CallArgs&) {
  auto items = iterate(v, "last");
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value f_items(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::list({});
  if (!v.is_dict()) fail(FailureKind::kType, "Can only get item pairs from a mapping.");
  std::vector<Value> pairs;
  for (const auto& [k, value] : v.dict().entries) pairs.push_back(Value::list({k, value}, true));
  return Value::list(std::move(pairs));
}

// map, select, reject, selectattr and rejectattr look at their arguments only when the input is
// truthy: Jinja2 yields nothing for none, Undefined, 0 or an empty sequence, whatever the
// arguments, and fails on an unknown filter or test name only when it applies it to an item.
Value f_map(Interpreter& in, const Value& v, CallArgs& args) {
  std::vector<Value> out;
  if (!truthy(v)) return Value::list({});
  const std::string attribute = attribute_arg(args, SIZE_MAX);
  if (!attribute.empty()) {
    const Value* fallback = args.get(SIZE_MAX, "default");
    for (const Value& item : iterate(v, "map")) {
      Value mapped = lookup_path(in, item, attribute);
      if (mapped.is_undefined() && fallback) mapped = *fallback;
      out.push_back(std::move(mapped));
    }
    return Value::list(std::move(out));
  }
  if (args.positional.empty()) fail(FailureKind::kType, "map requires a filter argument");
  const std::string name = to_text(args.positional[0]).str();
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.named = args.named;
  for (const Value& item : iterate(v, "map")) {
    CallArgs copy = rest;
    out.push_back(apply_filter(in, name, item, copy));
  }
  return Value::list(std::move(out));
}

// select/reject/selectattr/rejectattr share this: keep items whose (attribute's) test result
// equals `keep`.
Value select_items(Interpreter& in, const Value& v, CallArgs& args, bool by_attribute, bool keep) {
  if (!truthy(v)) return Value::list({});
  std::size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.positional.empty()) fail(FailureKind::kType, "Missing parameter for attribute name");
    attribute = to_text(args.positional[next++]).str();
  }
  std::optional<std::string> test;  // none: the item's truth decides
  if (next < args.positional.size()) test = to_text(args.positional[next++]).str();
  CallArgs test_args;
  test_args.positional.assign(
      args.positional.begin() + static_cast<std::ptrdiff_t>(std::min(next, args.positional.size())),
      args.positional.end());
  test_args.named = args.named;
  std::vector<Value> out;
  for (const Value& item : iterate(v, "select")) {
    in.count_steps();
    const Value subject = by_attribute ? lookup_path(in, item, attribute) : item;
    bool result = false;
    if (!test) {
      result = truthy(subject);
    } else {
      CallArgs copy = test_args;
      result = apply_test(in, *test, subject, copy);
    }
    if (result == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value f_select(Interpreter& in, const Value& v, CallArgs& a) {
  return select_items(in, v, a, false, true);
}
Value f_reject(Interpreter& in, const Value& v, CallArgs& a) {
  return select_items(in, v, a, false, false);
}
Value f_selectattr(Interpreter& in, const Value& v, CallArgs& a) {
  return select_items(in, v, a, true, true);
}
Value f_rejectattr(Interpreter& in, const Value& v, CallArgs& a) {
  return select_items(in, v, a, true, false);
}

Value f_default(Interpreter&, const Value& v, CallArgs& args) {
  const Value* fallback = args.get(0, "default_value");
  const bool boolean = flag(args, 1, "boolean", false);
  if (v.is_undefined() || (boolean && !truthy(v))) return fallback ? *fallback : Value::string(std::string());
  return v;
}

bool parse_int(std::string s, int base, std::int64_t& out) {
  s = strip(Text(s), StripSide::kBoth, nullptr).str();
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, base);
  if (errno != 0 || *end != '\0') return false;
  out = v;
  return true;
}

Value f_int(Interpreter&, const Value& v, CallArgs& args) {
  const Value* fallback = args.get(0, "default");
  const Value* base_value = args.get(1, "base");
  const int base = base_value && base_value->is_int() ? static_cast<int>(base_value->as_int()) : 10;
  const Value dflt = fallback ? *fallback : Value::integer(0);
  if (v.is_int() || v.is_bool()) return Value::integer(v.as_int());
  if (v.is_float()) {
    const double d = v.as_double();
    if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return dflt;
    return Value::integer(static_cast<std::int64_t>(d));
  }
  if (v.is_string()) {
    std::int64_t i = 0;
    if (parse_int(v.text().str(), base, i)) return Value::integer(i);
    char* end = nullptr;
    const std::string s = strip(v.text(), StripSide::kBoth, nullptr).str();
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0' && std::isfinite(d) && std::fabs(d) < 9.2e18) {
      return Value::integer(static_cast<std::int64_t>(d));
    }
  }
  return dflt;
}

Value f_float(Interpreter&, const Value& v, CallArgs& args) {
  const Value* fallback = args.get(0, "default");
  const Value dflt = fallback ? *fallback : Value::floating(0.0);
  if (v.is_number()) return Value::floating(v.as_double());
  if (v.is_string()) {
    const std::string s = strip(v.text(), StripSide::kBoth, nullptr).str();
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0') return Value::floating(d);
  }
  return dflt;
}

Value f_list(Interpreter&, const Value& v, CallArgs&) {
  return Value::list(iterate(v, "list"));
}

Value f_unique(Interpreter& in, const Value& v, CallArgs& args) {
  const bool case_sensitive = flag(args, 0, "case_sensitive", false);
  const std::string attribute = attribute_arg(args, 1);
  std::vector<Value> out;
  std::vector<Value> seen;
  for (const Value& item : iterate(v, "unique")) {
    const Value key = sort_key(attribute.empty() ? item : lookup_path(in, item, attribute), case_sensitive);
    in.count_steps(seen.size() + 1);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value::list(std::move(out));
}

Value f_dictsort(Interpreter&, const Value& v, CallArgs& args) {
  if (!v.is_dict()) fail(FailureKind::kType, "dictsort needs a mapping");
  const bool case_sensitive = flag(args, 0, "case_sensitive", false);
  const Value* by = args.get(1, "by");
  const bool by_value = by && to_text(*by).str() == "value";
  const bool reverse = flag(args, 2, "reverse", false);
  std::vector<Value> pairs;
  for (const auto& [k, value] : v.dict().entries) pairs.push_back(Value::list({k, value}, true));
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& a, const Value& b) {
    const std::size_t i = by_value ? 1 : 0;
    const int c =
        compare(sort_key(a.list().items[i], case_sensitive), sort_key(b.list().items[i], case_sensitive));
    return reverse ? c > 0 : c < 0;
  });
  return Value::list(std::move(pairs));
}

Value f_sort(Interpreter& in, const Value& v, CallArgs& args) {
  const bool reverse = flag(args, 0, "reverse", false);
  const bool case_sensitive = flag(args, 1, "case_sensitive", false);
  const std::string attribute = attribute_arg(args, 2);
  std::vector<Value> items = iterate(v, "sort");
  in.count_steps(items.size());
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    const Value ka = sort_key(attribute.empty() ? a : lookup_path(in, a, attribute), case_sensitive);
    const Value kb = sort_key(attribute.empty() ? b : lookup_path(in, b, attribute), case_sensitive);
    const int c = compare(ka, kb);
    return reverse ? c > 0 : c < 0;
  });
  return Value::list(std::move(items));
}

Value f_reverse(Interpreter&, const Value& v, CallArgs&) {
  std::vector<Value> items = iterate(v, "reverse");
  std::reverse(items.begin(), items.end());
  if (v.is_string()) {
    Text out;
    for (const Value& c : items) out.append(c.text());
    return Value::string(std::move(out));
  }
  return Value::list(std::move(items));
}

Value f_abs(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_float()) return Value::floating(std::fabs(v.as_double()));
  if (v.is_int() || v.is_bool()) {
    if (v.as_int() == INT64_MIN) fail(FailureKind::kLimit, "integer overflow");
    return Value::integer(std::llabs(v.as_int()));
  }
  fail(FailureKind::kType, "bad operand type for abs(): '" + type_name(v) + "'");
}

Value f_round(Interpreter&, const Value& v, CallArgs& args) {
  if (!v.is_number()) fail(FailureKind::kType, "round needs a number");
  const Value* p = args.get(0, "precision");
  const std::int64_t precision = p && p->is_int() ? std::clamp<std::int64_t>(p->as_int(), -20, 20) : 0;
  const Value* m = args.get(1, "method");
  const std::string method = m ? to_text(*m).str() : "common";
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_double() * scale;
  double r = 0;
  if (method == "ceil") {
    r = std::ceil(x) / scale;
  } else if (method == "floor") {
    r = std::floor(x) / scale;
  } else {
    if (v.is_int() && precision >= 0) return Value::integer(v.as_int());
    r = std::nearbyint(x) / scale;  // round-half-even, as Python's round
  }
  return Value::floating(r);
}

Value f_sum(Interpreter& in, const Value& v, CallArgs& args) {
  const std::string attribute = attribute_arg(args, 0);
  const Value* start = args.get(1, "start");
  Value total = start ? *start : Value::integer(0);
  for (const Value& item : iterate(v, "sum")) {
    total = binary_operator(in, "+", total, attribute.empty() ? item : lookup_path(in, item, attribute));
  }
  return total;
}

Value extreme(Interpreter& in, const Value& v, CallArgs& args, bool want_max) {
  const bool case_sensitive = flag(args, 0, "case_sensitive", false);
  const std::string attribute = attribute_arg(args, 1);
  const std::vector<Value> items = iterate(v, want_max ? "max" : "min");
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  const Value* best = &items[0];
  for (const Value& item : items) {
    const Value a = sort_key(attribute.empty() ? item : lookup_path(in, item, attribute), case_sensitive);
    const Value b = sort_key(attribute.empty() ? *best : lookup_path(in, *best, attribute), case_sensitive);
    const int c = compare(a, b);
    if (want_max ? c > 0 : c < 0) best = &item;
  }
  return *best;
}
Value f_max(Interpreter& in, const Value& v, CallArgs& a) {
  return extreme(in, v, a, true);
}
Value f_min(Interpreter& in, const Value& v, CallArgs& a) {
  return extreme(in, v, a, false);
}

Value f_attr(Interpreter& in, const Value& v, CallArgs& args) {
  const Value* name = args.get(0, "name");
  if (!name) fail(FailureKind::kType, "attr needs a name");
  return in.get_attribute(v, to_text(*name).str());
}

Value f_batch(Interpreter&, const Value& v, CallArgs& args) {
  const Value* size_value = args.get(0, "linecount");
  if (!size_value || !size_value->is_int() || size_value->as_int() <= 0)
    fail(FailureKind::kValue, "batch needs a positive size");
  const auto size = static_cast<std::size_t>(size_value->as_int());
  const Value* fill = args.get(1, "fill_with");
  std::vector<Value> out;
  std::vector<Value> current;
  for (const Value& item : iterate(v, "batch")) {
    current.push_back(item);
    if (current.size() == size) out.push_back(Value::list(std::exchange(current, {})));
  }
  if (!current.empty()) {
    if (fill && !fill->is_none()) {
      while (current.size() < size) current.push_back(*fill);
    }
    out.push_back(Value::list(std::move(current)));
  }
  return Value::list(std::move(out));
}

const FilterTable& filters() {
  static const FilterTable table = [] {
    FilterTable t = {
        {"length", f_length},
        {"count", f_length},
        {"join", f_join},
        {"first", f_first},
        {"last", f_last},
        {"items", f_items},
        {"map", f_map},
        {"select", f_select},
        {"reject", f_reject},
        {"selectattr", f_selectattr},
        {"rejectattr", f_rejectattr},
        {"default", f_default},
        {"d", f_default},
        {"int", f_int},
        {"float", f_float},
        {"list", f_list},
        {"unique", f_unique},
        {"dictsort", f_dictsort},
        {"sort", f_sort},
        {"reverse", f_reverse},
        {"abs", f_abs},
        {"round", f_round},
        {"sum", f_sum},
        {"max", f_max},
        {"min", f_min},
        {"attr", f_attr},
        {"batch", f_batch},
    };
    add_text_filters(t);
    return t;
  }();
  return table;
}

}  // namespace

bool has_filter(std::string_view name) {
  return filters().count(name) != 0;
}

Value apply_filter(Interpreter& in, std::string_view name, const Value& input, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) fail(FailureKind::kValue, "No filter named '" + std::string(name) + "'.");
  in.count_steps(1 + work_units(input));
  return it->second(in, input, args);
}

}  // namespace pensieve::jinja
