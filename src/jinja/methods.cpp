// Methods templates call on strings, dicts and lists (`s.strip()`, `d.items()`, ...).
// The sandbox Hugging Face renders with forbids methods that mutate a list or dict in place;
// they resolve to an Undefined that fails when called, with Jinja2's message.
#include <algorithm>
#include <array>

#include "jinja/builtins.hpp"
#include "jinja/error.hpp"
#include "jinja/interpreter.hpp"
#include "jinja/strings.hpp"

namespace pensieve::jinja {
namespace {

const Value* optional_arg(const CallArgs& args, std::size_t index, std::string_view name) {
  const Value* v = args.get(index, name);
  return v && !v->is_none() ? v : nullptr;
}

std::string string_arg(const CallArgs& args, std::size_t index, std::string_view name,
                       std::string_view method) {
  const Value* v = args.get(index, name);
  if (!v || !v->is_string()) {
    fail(FailureKind::kType,
         std::string(method) + "() argument must be str, not " + (v ? type_name(*v) : "nothing"));
  }
  return v->text().str();
}

// startswith/endswith accept a string or a tuple of strings.
bool affix_match(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const Value& a) {
    if (!a.is_string())
      fail(FailureKind::kType, "startswith/endswith first arg must be str or a tuple of str");
    const std::string& x = a.text().str();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_list()) return std::any_of(affix.list().items.begin(), affix.list().items.end(), one);
  return one(affix);
}

Value string_method(const Value& self, const std::string& name, Interpreter& in, CallArgs& args) {
  const Text& s = self.text();
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const Value* chars = optional_arg(args, 0, "chars");
    std::string set = chars ? to_text(*chars).str() : "";
    const StripSide side =
        name == "strip" ? StripSide::kBoth : (name == "lstrip" ? StripSide::kLeft : StripSide::kRight);
    return Value::string(strip(s, side, chars ? &set : nullptr));
  }
  if (name == "split" || name == "rsplit") {
    const Value* sep = optional_arg(args, 0, "sep");
    const Value* maxsplit = optional_arg(args, 1, "maxsplit");
    std::string sep_text = sep ? to_text(*sep).str() : "";
    if (sep && sep_text.empty()) fail(FailureKind::kValue, "empty separator");
    const long long limit = maxsplit ? maxsplit->as_int() : -1;
    if (name == "rsplit" && limit >= 0) fail(FailureKind::kValue, "rsplit with maxsplit is not supported");
    std::vector<Value> pieces;
    for (Text& piece : split(s, sep ? &sep_text : nullptr, limit))
      pieces.push_back(Value::string(std::move(piece)));
    in.count_steps(pieces.size());
    return Value::list(std::move(pieces));
  }
  if (name == "splitlines") {
    std::vector<Value> lines;
    const std::string& b = s.str();
    std::size_t start = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (b[i] == '\n' || b[i] == '\r') {
        lines.push_back(Value::string(s.substr(start, i - start)));
        if (b[i] == '\r' && i + 1 < b.size() && b[i + 1] == '\n') ++i;
        start = i + 1;
      }
    }
    if (start < b.size()) lines.push_back(Value::string(s.substr(start)));
    return Value::list(std::move(lines));
  }
  if (name == "startswith" || name == "endswith") {
    const Value* affix = args.get(0, "prefix");
    if (!affix) fail(FailureKind::kType, name + "() takes at least 1 argument");
    return Value::boolean(affix_match(s.str(), *affix, name == "startswith"));
  }
  if (name == "replace") {
    const std::string old_value = string_arg(args, 0, "old", name);
    const Value* new_value = args.get(1, "new");
    if (!new_value || !new_value->is_string()) fail(FailureKind::kType, "replace() argument 2 must be str");
    const Value* count = optional_arg(args, 2, "count");
    Text out = replace(s, old_value, new_value->text(), count ? count->as_int() : -1);
    in.check_size(out.size());
    return Value::string(std::move(out));
  }
  if (name == "upper") return Value::string(s.derive(to_upper(s.str())));
  if (name == "lower") return Value::string(s.derive(to_lower(s.str())));
  if (name == "title") return Value::string(s.derive(python_title(s.str())));
  if (name == "capitalize") return Value::string(s.derive(capitalize(s.str())));
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    const std::string sub = string_arg(args, 0, "sub", name);
    const std::string& b = s.str();
    if (name == "count") {
      if (sub.empty()) return Value::integer(static_cast<std::int64_t>(utf8_length(b) + 1));
      std::int64_t n = 0;
      for (std::size_t pos = b.find(sub); pos != std::string::npos; pos = b.find(sub, pos + sub.size())) ++n;
      return Value::integer(n);
    }
    const std::size_t pos = name[0] == 'r' ? b.rfind(sub) : b.find(sub);
    if (pos == std::string::npos) {
      if (name == "index" || name == "rindex") fail(FailureKind::kValue, "substring not found");
      return Value::integer(-1);
    }
    return Value::integer(static_cast<std::int64_t>(utf8_length(std::string_view(b).substr(0, pos))));
  }
  if (name == "join") {
    const Value* items = args.get(0, "iterable");
    if (!items || !items->is_list()) fail(FailureKind::kType, "join() needs a list of strings");
    Text out;
    bool first = true;
    for (const Value& item : items->list().items) {
      if (!item.is_string())
        fail(FailureKind::kType, "sequence item: expected str instance, " + type_name(item) + " found");
      if (!first) out.append(s);
      first = false;
      out.append(item.text());
      in.check_size(out.size());
    }
    return Value::string(std::move(out));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    const std::string affix = string_arg(args, 0, "affix", name);
    const std::string& b = s.str();
    if (name == "removeprefix" && b.compare(0, affix.size(), affix) == 0 && affix.size() <= b.size()) {
      return Value::string(s.substr(affix.size()));
    }
    if (name == "removesuffix" && affix.size() <= b.size() &&
        b.compare(b.size() - affix.size(), affix.size(), affix) == 0) {
      return Value::string(s.substr(0, b.size() - affix.size()));
    }
    return self;
  }
  // The is*() family.
  const std::string& b = s.str();
  if (b.empty()) return Value::boolean(false);
  auto all = [&](auto pred) {
    for (std::size_t i = 0; i < b.size();) {
      std::size_t len = 1;
      const char32_t c = decode_at(b, i, len);
      if (!pred(c)) return false;
      i += len;
    }
    return true;
  };
  if (name == "isspace") return Value::boolean(all(is_python_space));
  if (name == "isdigit") return Value::boolean(all([](char32_t c) { return c >= U'0' && c <= U'9'; }));
  if (name == "isalpha")
    return Value::boolean(all([](char32_t c) { return (c | 0x20) >= U'a' && (c | 0x20) <= U'z'; }));
  if (name == "isalnum") {
    return Value::boolean(all(
        [](char32_t c) { return (c >= U'0' && c <= U'9') || ((c | 0x20) >= U'a' && (c | 0x20) <= U'z'); }));
  }
  if (name == "isupper") return Value::boolean(to_upper(b) == b && to_lower(b) != b);
  if (name == "islower") return Value::boolean(to_lower(b) == b && to_upper(b) != b);
  fail(FailureKind::kType, "str method " + name + " is not supported");
}

Value dict_method(const Value& self, const std::string& name, CallArgs& args) {
  const Dict& d = self.dict();
  if (name == "items") {
    std::vector<Value> pairs;
    for (const auto& [k, v] : d.entries) pairs.push_back(Value::list({k, v}, true));
    return Value::list(std::move(pairs));
  }
  if (name == "keys") {
    std::vector<Value> keys;
    for (const auto& [k, v] : d.entries) keys.push_back(k);
    return Value::list(std::move(keys));
  }
  if (name == "values") {
    std::vector<Value> values;
    for (const auto& [k, v] : d.entries) values.push_back(v);
    return Value::list(std::move(values));
  }
  if (name == "get") {
    const Value* key = args.get(0, "key");
    if (!key) fail(FailureKind::kType, "get expected at least 1 argument, got 0");
    require_hashable(*key);
    if (const Value* v = d.find(*key)) return *v;
    const Value* fallback = args.get(1, "default");
    return fallback ? *fallback : Value::none();
  }
  if (name == "copy") return self;
  fail(FailureKind::kType, "dict method " + name + " is not supported");
}

Value list_method(const Value& self, const std::string& name, CallArgs& args) {
  const auto& items = self.list().items;
  const Value* x = args.get(0, "value");
  if (!x) fail(FailureKind::kType, name + "() takes exactly one argument");
  if (name == "count") {
    return Value::integer(
        std::count_if(items.begin(), items.end(), [&](const Value& v) { return equals(v, *x); }));
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (equals(items[i], *x)) return Value::integer(static_cast<std::int64_t>(i));
  }
  fail(FailureKind::kValue, "value is not in list");
}

constexpr std::array<std::string_view, 27> kStringMethods = {
    "strip",    "lstrip",  "rstrip",  "split",   "rsplit",  "splitlines",   "startswith",
    "endswith", "replace", "upper",   "lower",   "title",   "capitalize",   "find",
    "rfind",    "index",   "rindex",  "count",   "join",    "removeprefix", "removesuffix",
    "isspace",  "isdigit", "isalpha", "isalnum", "isupper", "islower"};
constexpr std::array<std::string_view, 5> kDictMethods = {"items", "keys", "values", "get", "copy"};
constexpr std::array<std::string_view, 5> kDictMutators = {"update", "pop", "popitem", "setdefault", "clear"};
constexpr std::array<std::string_view, 2> kListMethods = {"index", "count"};
constexpr std::array<std::string_view, 8> kListMutators = {"append", "extend", "insert", "pop",
                                                           "remove", "clear",  "sort",   "reverse"};

template <std::size_t N>
bool listed(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Python's type of a bound method of a built-in type.
constexpr const char* kBuiltinMethod = "builtin_function_or_method";

Value unsafe(std::string_view name, std::string_view type) {
  // Jinja2's sandbox answers with an Undefined that fails on any use, so `is defined` is false.
  return Value::undefined("access to attribute '" + std::string(name) + "' of '" + std::string(type) +
                          "' object is unsafe.");
}

}  // namespace

std::optional<Value> find_method(const Value& object, std::string_view name) {
  const std::string method(name);
  switch (object.kind()) {
    case Kind::kString:
      if (!listed(kStringMethods, name)) return std::nullopt;
      return Value::callable(
          method,
          [object, method](Interpreter& in, CallArgs& args) {
            in.count_steps(work_units(object));
            return string_method(object, method, in, args);
          },
          kBuiltinMethod);
    case Kind::kDict:
      if (listed(kDictMutators, name)) return unsafe(name, "dict");
      if (!listed(kDictMethods, name)) return std::nullopt;
      return Value::callable(
          method,
          [object, method](Interpreter& in, CallArgs& args) {
            in.count_steps(work_units(object));
            return dict_method(object, method, args);
          },
          kBuiltinMethod);
    case Kind::kList:
      if (listed(kListMutators, name)) return unsafe(name, object.list().is_tuple ? "tuple" : "list");
      if (!listed(kListMethods, name)) return std::nullopt;
      return Value::callable(
          method,
          [object, method](Interpreter& in, CallArgs& args) {
            in.count_steps(work_units(object));
            return list_method(object, method, args);
          },
          kBuiltinMethod);
    default:
      return std::nullopt;
  }
}

}  // namespace pensieve::jinja
