// JSON in and out of template values: context values arrive as JSON, and tojson writes
// json.dumps' exact format (separators, indentation, ensure_ascii escapes, float repr).
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "jinja/error.hpp"
#include "jinja/strings.hpp"
#include "jinja/value.hpp"

namespace pensieve::jinja {
namespace {

void json_string(Text& out, const Text& s, bool ensure_ascii) {
  std::string body = "\"";
  const std::string& b = s.str();
  for (std::size_t i = 0; i < b.size();) {
    std::size_t len = 1;
    const char32_t c = decode_at(b, i, len);
    switch (c) {
      case U'"':
        body += "\\\"";
        break;
      case U'\\':
        body += "\\\\";
        break;
      case U'\n':
        body += "\\n";
        break;
      case U'\r':
        body += "\\r";
        break;
      case U'\t':
        body += "\\t";
        break;
      case U'\b':
        body += "\\b";
        break;
      case U'\f':
        body += "\\f";
        break;
      default:
        if (c < 0x20 || (ensure_ascii && c >= 0x7f)) {
          if (c >= 0x10000) {
            const char32_t v = c - 0x10000;
            append_hex_escape(body, "\\u", static_cast<unsigned>(0xD800 + (v >> 10)), 4);
            append_hex_escape(body, "\\u", static_cast<unsigned>(0xDC00 + (v & 0x3FF)), 4);
          } else {
            append_hex_escape(body, "\\u", static_cast<unsigned>(c), 4);
          }
        } else {
          body.append(b, i, len);
        }
    }
    i += len;
  }
  body += '"';
  out.append(body, s.any_untrusted());
}

// json.dumps writes a non-string key as the JSON text of its scalar (1 -> "1", True -> "true",
// None -> "null", 1.5 -> "1.5", nan -> "NaN") and refuses any other key type.
Text json_key(const Value& key) {
  switch (key.kind()) {
    case Kind::kString:
      return key.text();
    case Kind::kNone:
      return Text("null");
    case Kind::kBool:
      return Text(key.as_bool() ? "true" : "false");
    case Kind::kInt:
      return Text(std::to_string(key.as_int()));
    case Kind::kFloat: {
      const double d = key.as_double();
      if (std::isnan(d)) return Text("NaN");
      if (std::isinf(d)) return Text(d > 0 ? "Infinity" : "-Infinity");
      return Text(format_float(d));
    }
    default:
      fail(FailureKind::kType, "keys must be str, int, float, bool or None, not " + type_name(key));
  }
}

void json_newline(Text& out, const JsonOptions& o, int level) {
  out.append_trusted("\n");
  out.append_trusted(std::string(static_cast<std::size_t>(o.indent) * static_cast<std::size_t>(level), ' '));
}

void json_into(Text& out, const Value& v, const JsonOptions& o, int depth) {
  check_depth(depth);
  switch (v.kind()) {
    case Kind::kNone:
      out.append_trusted("null");
      return;
    case Kind::kBool:
      out.append_trusted(v.as_bool() ? "true" : "false");
      return;
    case Kind::kInt:
      out.append_trusted(std::to_string(v.as_int()));
      return;
    case Kind::kFloat: {
      const double d = v.as_double();
      if (std::isnan(d)) {
        out.append_trusted("NaN");
      } else if (std::isinf(d)) {
        out.append_trusted(d > 0 ? "Infinity" : "-Infinity");
      } else {
        out.append_trusted(format_float(d));
      }
      return;
    }
    case Kind::kString:
      json_string(out, v.text(), o.ensure_ascii);
      return;
    case Kind::kList: {
      const auto& items = v.list().items;
      if (items.empty()) {
        out.append_trusted("[]");
        return;
      }
      out.append_trusted("[");
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out.append_trusted(o.item_separator);
        if (o.indent >= 0) json_newline(out, o, depth + 1);
        json_into(out, items[i], o, depth + 1);
      }
      if (o.indent >= 0) json_newline(out, o, depth);
      out.append_trusted("]");
      return;
    }
    case Kind::kDict:
    case Kind::kNamespace: {
      if (v.is_namespace()) fail(FailureKind::kType, "Object of type Namespace is not JSON serializable");
      std::vector<const std::pair<Value, Value>*> entries;
      for (const auto& e : v.dict().entries) entries.push_back(&e);
      if (o.sort_keys) {
        // Python sorts the keys as they are, before writing them as strings: keys of types that
        // do not compare (1 and 'a') fail.
        std::stable_sort(entries.begin(), entries.end(),
                         [](auto* a, auto* b) { return compare(a->first, b->first) < 0; });
      }
      if (entries.empty()) {
        out.append_trusted("{}");
        return;
      }
      out.append_trusted("{");
      for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i) out.append_trusted(o.item_separator);
        if (o.indent >= 0) json_newline(out, o, depth + 1);
        json_string(out, json_key(entries[i]->first), o.ensure_ascii);
        out.append_trusted(o.key_separator);
        json_into(out, entries[i]->second, o, depth + 1);
      }
      if (o.indent >= 0) json_newline(out, o, depth);
      out.append_trusted("}");
      return;
    }
    case Kind::kUndefined:
      fail(FailureKind::kType, "Object of type Undefined is not JSON serializable");
    case Kind::kCallable:
      fail(FailureKind::kType, "Object of type " + type_name(v) + " is not JSON serializable");
  }
}

template <typename Json>
Value from_json_at(const Json& j, bool untrusted, int depth) {
  check_depth(depth);
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value::none();
    case nlohmann::json::value_t::boolean:
      return Value::boolean(j.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value::integer(j.template get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = j.template get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) return Value::floating(static_cast<double>(u));
      return Value::integer(static_cast<std::int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value::floating(j.template get<double>());
    case nlohmann::json::value_t::string:
      return Value::string(Text(j.template get<std::string>(), untrusted));
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json_at(e, untrusted, depth + 1));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      d.entries.reserve(j.size());
      for (const auto& [k, e] : j.items())
        d.entries.emplace_back(Value::string(Text(k, untrusted)), from_json_at(e, untrusted, depth + 1));
      return Value::dict(std::move(d));
    }
    default:
      return Value::none();  // binary and discarded values do not come from JSON text
  }
}

}  // namespace

Value from_json(const nlohmann::json& j, bool untrusted) {
  return from_json_at(j, untrusted, 0);
}
Value from_json(const nlohmann::ordered_json& j, bool untrusted) {
  return from_json_at(j, untrusted, 0);
}

Text to_json(const Value& v, const JsonOptions& options) {
  Text out;
  json_into(out, v, options, 0);
  return out;
}

}  // namespace pensieve::jinja
