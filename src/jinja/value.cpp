#include "jinja/value.hpp"

#include <unicode/uchar.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

#include "jinja/error.hpp"
#include "jinja/strings.hpp"

namespace pensieve::jinja {

void check_depth(int depth) {
  if (depth > kMaxNesting) {
    fail(FailureKind::kLimit, "value nested more than " + std::to_string(kMaxNesting) + " levels deep");
  }
}

namespace {

bool python_printable(char32_t c) {
  if (c == U' ') return true;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_SPACE_SEPARATOR:
      return false;
    default:
      return true;
  }
}

std::string repr_string(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = 1;
    const char32_t c = decode_at(s, i, len);
    if (c == U'\\') {
      out += "\\\\";
    } else if (c == static_cast<char32_t>(quote)) {
      out += '\\';
      out += quote;
    } else if (c == U'\n') {
      out += "\\n";
    } else if (c == U'\r') {
      out += "\\r";
    } else if (c == U'\t') {
      out += "\\t";
    } else if (python_printable(c)) {
      out.append(s.substr(i, len));
    } else if (c < 0x100) {
      append_hex_escape(out, "\\x", static_cast<unsigned>(c), 2);
    } else if (c < 0x10000) {
      append_hex_escape(out, "\\u", static_cast<unsigned>(c), 4);
    } else {
      append_hex_escape(out, "\\U", static_cast<unsigned>(c), 8);
    }
    i += len;
  }
  out += quote;
  return out;
}

void append_repr_string(Text& out, const Text& s) {
  out.append(repr_string(s.str()), s.any_untrusted());
}

void repr_into(Text& out, const Value& v, int depth) {
  check_depth(depth);
  switch (v.kind()) {
    case Kind::kString:
      append_repr_string(out, v.text());
      return;
    case Kind::kList: {
      const List& l = v.list();
      out.append_trusted(l.is_tuple ? "(" : "[");
      for (std::size_t i = 0; i < l.items.size(); ++i) {
        if (i) out.append_trusted(", ");
        repr_into(out, l.items[i], depth + 1);
      }
      if (l.is_tuple && l.items.size() == 1) out.append_trusted(",");
      out.append_trusted(l.is_tuple ? ")" : "]");
      return;
    }
    case Kind::kDict: {
      out.append_trusted("{");
      bool first = true;
      for (const auto& [key, value] : v.dict().entries) {
        if (!first) out.append_trusted(", ");
        first = false;
        repr_into(out, key, depth + 1);
        out.append_trusted(": ");
        repr_into(out, value, depth + 1);
      }
      out.append_trusted("}");
      return;
    }
    case Kind::kNamespace: {
      out.append_trusted("<Namespace ");
      repr_into(out, Value::dict(v.ns().attributes), depth + 1);
      out.append_trusted(">");
      return;
    }
    case Kind::kUndefined:
      out.append_trusted("Undefined");
      return;
    default:
      out.append(to_text(v));
  }
}

bool equals_at(const Value& a, const Value& b, int depth) {
  check_depth(depth);
  if (a.is_number() && b.is_number()) {
    if ((a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool())) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return true;
    case Kind::kString:
      return a.text().str() == b.text().str();
    case Kind::kList: {
      const auto& x = a.list().items;
      const auto& y = b.list().items;
      if (x.size() != y.size() || a.list().is_tuple != b.list().is_tuple) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!equals_at(x[i], y[i], depth + 1)) return false;
      }
      return true;
    }
    case Kind::kDict: {
      const auto& x = a.dict();
      const auto& y = b.dict();
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [k, v] : x.entries) {
        const Value* other = y.find(k);
        if (!other || !equals_at(v, *other, depth + 1)) return false;
      }
      return true;
    }
    default:
      return a.identity() == b.identity();
  }
}

}  // namespace

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k.is_string() && k.text().str() == key) return &v;
  }
  return nullptr;
}

Value* Dict::find(std::string_view key) {
  return const_cast<Value*>(std::as_const(*this).find(key));
}

const Value* Dict::find(const Value& key) const {
  if (key.is_string()) return find(key.text().str());
  for (const auto& [k, v] : entries) {
    if (equals(k, key)) return &v;
  }
  return nullptr;
}

Value* Dict::find(const Value& key) {
  return const_cast<Value*>(std::as_const(*this).find(key));
}

void Dict::set(Text key, Value value) {
  set(Value::string(std::move(key)), std::move(value));
}

void Dict::set(Value key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  entries.emplace_back(std::move(key), std::move(value));
}

bool hashable(const Value& v) {
  switch (v.kind()) {
    case Kind::kDict:
      return false;
    case Kind::kList:
      if (!v.list().is_tuple) return false;
      return std::all_of(v.list().items.begin(), v.list().items.end(), hashable);
    default:
      return true;  // scalars by value; Undefined (one hash for all), namespaces and callables by identity
  }
}

void require_hashable(const Value& v) {
  if (hashable(v)) return;
  // Python names the first unhashable object it meets, which may sit inside a tuple.
  const Value* culprit = &v;
  while (culprit->is_list() && culprit->list().is_tuple) {
    culprit = &*std::find_if(culprit->list().items.begin(), culprit->list().items.end(),
                             [](const Value& item) { return !hashable(item); });
  }
  fail(FailureKind::kType, "unhashable type: '" + type_name(*culprit) + "'");
}

const Value* CallArgs::get(std::size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [n, v] : named) {
    if (n == name) return &v;
  }
  return nullptr;
}

Value Value::undefined(std::string reason) {
  return Value(
      Rep(std::in_place_index<0>, Undefined{std::make_shared<const std::string>(std::move(reason))}));
}
Value Value::string(Text text) {
  return Value(Rep(std::in_place_index<5>, std::make_shared<const Text>(std::move(text))));
}
namespace {

// Deeper structures are refused when built, so that printing, comparing or freeing them
// never recurses past what the native stack can take.
int container_depth(int deepest_child) {
  const int depth = deepest_child + 1;
  check_depth(depth);
  return depth;
}

int deepest_entry(const Dict& d) {
  int deepest = 0;
  for (const auto& [k, v] : d.entries) deepest = std::max({deepest, nesting_depth(k), nesting_depth(v)});
  return deepest;
}

}  // namespace

int nesting_depth(const Value& v) {
  switch (v.kind()) {
    case Kind::kList:
      return v.list().depth;
    case Kind::kDict:
      return v.dict().depth;
    case Kind::kNamespace:
      return v.ns().attributes.depth;
    default:
      return 0;
  }
}

void Namespace::set(Text name, Value value) {
  attributes.depth = std::max(attributes.depth, container_depth(nesting_depth(value)));
  attributes.set(std::move(name), std::move(value));
}

Value Value::list(std::vector<Value> items, bool is_tuple) {
  int deepest = 0;
  for (const Value& item : items) deepest = std::max(deepest, nesting_depth(item));
  const int depth = container_depth(deepest);
  return Value(
      Rep(std::in_place_index<6>, std::make_shared<const List>(List{std::move(items), is_tuple, depth})));
}
Value Value::dict(Dict dict) {
  dict.depth = container_depth(deepest_entry(dict));
  return Value(Rep(std::in_place_index<7>, std::make_shared<const Dict>(std::move(dict))));
}
Value Value::make_namespace(Dict attributes) {
  attributes.depth = container_depth(deepest_entry(attributes));
  return Value(Rep(std::in_place_index<8>, std::make_shared<Namespace>(Namespace{std::move(attributes)})));
}
Value Value::callable(std::string name, NativeFunction fn, const char* python_type) {
  return Value(Rep(std::in_place_index<9>,
                   std::make_shared<const Callable>(Callable{std::move(name), std::move(fn), python_type})));
}

std::int64_t Value::as_int() const {
  if (is_bool()) return as_bool() ? 1 : 0;
  return std::get<3>(rep_);
}

double Value::as_double() const {
  if (is_float()) return std::get<4>(rep_);
  return static_cast<double>(as_int());
}

const std::string& Value::undefined_reason() const {
  static const std::string kGeneric = "value is undefined";
  const auto& u = std::get<0>(rep_);
  return u.reason ? *u.reason : kGeneric;
}

const void* Value::identity() const {
  switch (kind()) {
    case Kind::kString:
      return std::get<5>(rep_).get();
    case Kind::kList:
      return std::get<6>(rep_).get();
    case Kind::kDict:
      return std::get<7>(rep_).get();
    case Kind::kNamespace:
      return std::get<8>(rep_).get();
    case Kind::kCallable:
      return std::get<9>(rep_).get();
    default:
      return nullptr;
  }
}

std::size_t work_units(const Value& v) {
  switch (v.kind()) {
    case Kind::kString:
      return v.text().size() / 64;
    case Kind::kList:
      return v.list().items.size();
    case Kind::kDict:
      return v.dict().entries.size();
    default:
      return 0;
  }
}

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return v.list().is_tuple ? "tuple" : "list";
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kCallable:
      return v.callable().python_type;
  }
  return "object";
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return v.as_bool();
    case Kind::kInt:
      return v.as_int() != 0;
    case Kind::kFloat:
      return v.as_double() != 0.0;
    case Kind::kString:
      return !v.text().empty();
    case Kind::kList:
      return !v.list().items.empty();
    case Kind::kDict:
      return !v.dict().entries.empty();
    default:
      return true;
  }
}

bool equals(const Value& a, const Value& b) {
  return equals_at(a, b, 0);
}

int compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if ((a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool())) {
      return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
    }
    const double x = a.as_double();
    const double y = b.as_double();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.text().str().compare(b.text().str());  // UTF-8 byte order is code point order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list()) {
    const auto& x = a.list().items;
    const auto& y = b.list().items;
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equals(x[i], y[i])) return compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  fail(FailureKind::kType,
       "'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string sci(buf, res.ptr);  // e.g. "-1.2345e+02"
  const std::size_t e_pos = sci.find('e');
  std::string mantissa = sci.substr(0, e_pos);
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  bool negative = false;
  if (!mantissa.empty() && mantissa[0] == '-') {
    negative = true;
    mantissa.erase(0, 1);
  }
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  std::string out = negative ? "-" : "";
  if (exponent >= -5 + 1 && exponent < 16) {
    if (exponent >= 0) {
      const auto int_len = static_cast<std::size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    } else {
      out += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_buf;
}

Text to_text(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return Text();
    case Kind::kNone:
      return Text("None");
    case Kind::kBool:
      return Text(v.as_bool() ? "True" : "False");
    case Kind::kInt:
      return Text(std::to_string(v.as_int()));
    case Kind::kFloat:
      return Text(format_float(v.as_double()));
    case Kind::kString:
      return v.text();
    case Kind::kCallable:
      return Text("<function " + v.callable().name + ">");
    default: {
      Text out;
      repr_into(out, v, 0);
      return out;
    }
  }
}

Text repr_text(const Value& v) {
  Text out;
  repr_into(out, v, 0);
  return out;
}

std::vector<std::string_view> utf8_chars(std::string_view s) {
  std::vector<std::string_view> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = 1;
    decode_at(s, i, len);
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++n) {
    std::size_t len = 1;
    decode_at(s, i, len);  // same rule as indexing, also for invalid UTF-8
    i += len;
  }
  return n;
}

}  // namespace pensieve::jinja
