// grammar/schema_compiler: the JSON Schema compiler behind GrammarBuilder::json_schema (internal
// to the module; also the base of markup_arguments, which compiles each parameter's value with
// it). What it supports is listed in json_schema.cpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "grammar/builder.hpp"
#include "grammar/json_formats.hpp"

namespace pensieve::grammar {
namespace detail {

inline constexpr std::size_t kMaxBoundedRepeat = 256;
inline constexpr std::int64_t kMaxIntegerRange = 1000;

using Rule = GrammarBuilder::Rule;

inline const std::set<std::string, std::less<>> kIgnored = {
    "description", "title", "default", "examples", "$schema", "$id", "$comment", "$defs", "definitions"};
inline const std::set<std::string, std::less<>> kSupported = {"type",
                                                              "properties",
                                                              "required",
                                                              "additionalProperties",
                                                              "items",
                                                              "prefixItems",
                                                              "minItems",
                                                              "maxItems",
                                                              "minLength",
                                                              "maxLength",
                                                              "pattern",
                                                              "format",
                                                              "minimum",
                                                              "maximum",
                                                              "enum",
                                                              "const",
                                                              "exclusiveMinimum",
                                                              "exclusiveMaximum",
                                                              "anyOf",
                                                              "oneOf",
                                                              "allOf",
                                                              "$ref"};
inline const std::set<std::string, std::less<>> kObjectKeywords = {"properties", "required",
                                                                   "additionalProperties"};

inline std::string escape_pointer_token(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

inline std::string at(const std::string& ptr) {
  return ptr.empty() ? "/" : ptr;
}

inline Error unsupported(const std::string& what, const std::string& ptr) {
  return make_error(ErrorCode::kUnsupported, what + " at " + at(ptr));
}
inline Error invalid(const std::string& what, const std::string& ptr) {
  return make_error(ErrorCode::kInvalidArgument, what + " at " + at(ptr));
}

template <class json>
class SchemaCompiler {
 public:
  SchemaCompiler(GrammarBuilder& b, const json& root) : b_(b), root_(root) {}

  Result<Rule> compile(const json& s, const std::string& ptr) {
    if (s.is_boolean()) {
      if (s.template get<bool>()) return b_.any_json();
      return invalid("the schema 'false' matches nothing", ptr);
    }
    if (!s.is_object()) return invalid("a schema must be an object or a boolean", ptr);
    PENSIEVE_TRY(check_keywords(s, ptr));
    if (s.contains("$ref")) {
      for (const auto& [key, value] : s.items()) {
        if (key != "$ref" && !kIgnored.contains(key))
          return unsupported("keyword '" + key + "' beside $ref", ptr + "/" + escape_pointer_token(key));
      }
      return compile_ref(s["$ref"], ptr + "/$ref");
    }
    if (s.contains("const")) return exactly({s["const"]});
    if (s.contains("enum")) {
      const json& values = s["enum"];
      if (!values.is_array() || values.empty())
        return invalid("enum must be a non-empty array", ptr + "/enum");
      return exactly(std::vector<json>(values.begin(), values.end()));
    }
    for (const char* combinator : {"anyOf", "oneOf"}) {
      if (!s.contains(combinator)) continue;
      const std::string here = ptr + "/" + combinator;
      auto checked = combinator_list(s, ptr, combinator);
      if (!checked) return checked.error();
      const json& list = **checked;
      std::vector<Rule> choices;
      for (std::size_t i = 0; i < list.size(); ++i) {
        auto r = compile(list[i], here + "/" + std::to_string(i));
        if (!r) return r.error();
        choices.push_back(*r);
      }
      return b_.alternatives(std::move(choices));
    }
    if (s.contains("allOf")) return compile_all_of(s, ptr);

    auto types = types_of(s, ptr);
    if (!types) return types.error();
    std::vector<Rule> choices;
    for (const std::string& t : *types) {
      auto r = compile_typed(s, ptr, t);
      if (!r) return r.error();
      choices.push_back(*r);
    }
    return b_.alternatives(std::move(choices));
  }

 protected:
  // s[combinator] ("anyOf", "oneOf") as a list of alternatives: a non-empty array with nothing
  // beside it but the keywords that do not constrain.
  Result<const json*> combinator_list(const json& s, const std::string& ptr, const char* combinator) {
    for (const auto& [key, value] : s.items()) {
      if (key != combinator && !kIgnored.contains(key))
        return unsupported("keyword '" + key + "' beside " + combinator,
                           ptr + "/" + escape_pointer_token(key));
    }
    const json& list = s[combinator];
    if (!list.is_array() || list.empty())
      return invalid(std::string(combinator) + " must be a non-empty array", ptr + "/" + combinator);
    return &list;
  }

  // The types a schema names, or the one its keywords imply ("any" if none do).
  Result<std::vector<std::string>> types_of(const json& s, const std::string& ptr) const {
    std::vector<std::string> types;
    if (!s.contains("type")) {
      types.push_back(inferred_type(s));
      return types;
    }
    const json& t = s["type"];
    if (t.is_string()) {
      types.push_back(t.template get<std::string>());
    } else if (t.is_array() && !t.empty()) {
      for (const json& x : t) {
        if (!x.is_string()) return invalid("type must be a string or an array of strings", ptr + "/type");
        types.push_back(x.template get<std::string>());
      }
    } else {
      return invalid("type must be a string or an array of strings", ptr + "/type");
    }
    return types;
  }

  // A value as JSON text; inside markup with "</" escaped (see GrammarBuilder::markup_json_).
  std::string dumped(const json& v) const {
    std::string out = v.dump();
    if (!b_.markup_json_) return out;
    for (std::size_t at = 0; (at = out.find("</", at)) != std::string::npos; at += 3)
      out.replace(at, 2, "<\\/");
    return out;
  }

  // One of the values: scalars as written by dump(), objects and arrays with the same bounded
  // whitespace between tokens as any other JSON here.
  Rule exactly(const std::vector<json>& values) {
    std::vector<std::string> scalars;
    std::vector<Rule> choices;
    for (const json& v : values) {
      if (v.is_structured()) {
        choices.push_back(structured(v));
      } else {
        scalars.push_back(dumped(v));
      }
    }
    if (!scalars.empty()) choices.push_back(b_.literal_set(std::move(scalars)));
    return b_.alternatives(std::move(choices));
  }

  Rule structured(const json& v) {
    if (!v.is_structured()) return b_.literal(dumped(v));
    const Rule ws = b_.optional_whitespace();
    const bool object = v.is_object();
    std::vector<Rule> parts{b_.literal(object ? "{" : "["), ws};
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!first) parts.push_back(b_.sequence({ws, b_.literal(","), ws}));
      first = false;
      if (object) parts.push_back(b_.sequence({b_.literal(dumped(json(it.key()))), ws, b_.literal(":"), ws}));
      parts.push_back(structured(*it));
    }
    if (!first) parts.push_back(ws);
    parts.push_back(b_.literal(object ? "}" : "]"));
    return b_.sequence(std::move(parts));
  }

  Status check_keywords(const json& s, const std::string& ptr) {
    for (const auto& [key, value] : s.items()) {
      if (!kSupported.contains(key) && !kIgnored.contains(key))
        return unsupported("unsupported keyword '" + key + "'", ptr + "/" + escape_pointer_token(key));
    }
    return {};
  }

  static std::string inferred_type(const json& s) {
    for (const char* k : {"properties", "required", "additionalProperties"})
      if (s.contains(k)) return "object";
    for (const char* k : {"items", "prefixItems", "minItems", "maxItems"})
      if (s.contains(k)) return "array";
    for (const char* k : {"minLength", "maxLength", "pattern", "format"})
      if (s.contains(k)) return "string";
    for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
      if (s.contains(k)) return "number";
    return "any";
  }

  Result<Rule> compile_ref(const json& ref, const std::string& ptr) {
    if (!ref.is_string()) return invalid("$ref must be a string", ptr);
    const std::string text = ref.template get<std::string>();
    if (text.empty() || text[0] != '#')
      return unsupported("$ref '" + text + "' (only references inside the schema, '#...', are supported)",
                         ptr);
    const std::string pointer = text.substr(1);
    if (auto it = refs_.find(pointer); it != refs_.end()) return b_.call(it->second);
    const json* target = nullptr;
    try {
      const typename json::json_pointer jp(pointer);
      if (root_.contains(jp)) target = &root_.at(jp);
    } catch (const nlohmann::json::exception&) {
      target = nullptr;
    }
    if (!target) return invalid("$ref '" + text + "' does not resolve", ptr);
    const std::uint32_t id = b_.declare("$ref " + text);
    refs_.emplace(pointer, id);
    auto body = compile(*target, pointer);
    if (!body) return body.error();
    b_.define(id, *body);
    return b_.call(id);
  }

  // The schema a $ref chain ends at, with its pointer.
  Result<std::pair<const json*, std::string>> resolve(const json& s, std::string ptr, int depth = 0) {
    if (depth > 64) return invalid("$ref chain too long", ptr);
    if (!s.is_object() || !s.contains("$ref")) return std::pair{&s, ptr};
    const json& ref = s["$ref"];
    if (!ref.is_string() || ref.template get<std::string>().empty() ||
        ref.template get<std::string>()[0] != '#')
      return unsupported("$ref inside allOf must point inside the schema", ptr + "/$ref");
    const std::string pointer = ref.template get<std::string>().substr(1);
    try {
      const typename json::json_pointer jp(pointer);
      if (root_.contains(jp)) return resolve(root_.at(jp), pointer, depth + 1);
    } catch (const nlohmann::json::exception&) {
    }
    return invalid("$ref '" + ref.template get<std::string>() + "' does not resolve", ptr + "/$ref");
  }

  struct ObjectShape {
    std::vector<std::pair<std::string, std::pair<const json*, std::string>>> properties;
    std::set<std::string> required;
    std::string required_ptr;
    const json* additional = nullptr;  // absent unless set
    std::string additional_ptr;
    bool has_properties = false;
  };

  Status collect_object(const json& s, const std::string& ptr, ObjectShape& shape) {
    PENSIEVE_TRY(check_keywords(s, ptr));
    for (const auto& [key, value] : s.items()) {
      if (kIgnored.contains(key) || kObjectKeywords.contains(key)) continue;
      if (key == "type" && value == "object") continue;
      if (key == "allOf" && value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i) {
          auto r = resolve(value[i], ptr + "/allOf/" + std::to_string(i));
          if (!r) return r.error();
          PENSIEVE_TRY(collect_object(*r->first, r->second, shape));
        }
        continue;
      }
      return unsupported("allOf can only merge object schemas; keyword '" + key + "'",
                         ptr + "/" + escape_pointer_token(key));
    }
    return collect_own_keywords(s, ptr, shape);
  }

  // properties, required and additionalProperties of one schema, into a shape that allOf may
  // already have filled from others.
  Status collect_own_keywords(const json& s, const std::string& ptr, ObjectShape& shape) {
    if (s.contains("properties")) {
      const json& props = s["properties"];
      if (!props.is_object()) return invalid("properties must be an object", ptr + "/properties");
      shape.has_properties = true;
      for (const auto& [name, sub] : props.items()) {
        for (const auto& existing : shape.properties)
          if (existing.first == name)
            return unsupported("property '" + name + "' defined twice across allOf",
                               ptr + "/properties/" + escape_pointer_token(name));
        shape.properties.push_back({name, {&sub, ptr + "/properties/" + escape_pointer_token(name)}});
      }
    }
    if (s.contains("required")) {
      const json& req = s["required"];
      if (!req.is_array()) return invalid("required must be an array", ptr + "/required");
      for (const json& r : req) {
        if (!r.is_string()) return invalid("required must list strings", ptr + "/required");
        shape.required.insert(r.template get<std::string>());
      }
      shape.required_ptr = ptr + "/required";
    }
    if (s.contains("additionalProperties")) {
      // false wins over anything merged with it.
      if (!(shape.additional && shape.additional->is_boolean() && !shape.additional->template get<bool>())) {
        shape.additional = &s["additionalProperties"];
        shape.additional_ptr = ptr + "/additionalProperties";
      }
    }
    return {};
  }

  Result<Rule> compile_all_of(const json& s, const std::string& ptr) {
    const json& list = s["allOf"];
    if (!list.is_array() || list.empty()) return invalid("allOf must be a non-empty array", ptr + "/allOf");
    bool only_ignored = true;
    for (const auto& [key, value] : s.items())
      only_ignored = only_ignored && (key == "allOf" || kIgnored.contains(key));
    if (list.size() == 1 && only_ignored) return compile(list[0], ptr + "/allOf/0");
    ObjectShape shape;
    PENSIEVE_TRY(collect_object(s, ptr, shape));
    return compile_object_rule(shape, ptr);
  }

  Result<Rule> compile_typed(const json& s, const std::string& ptr, const std::string& type) {
    if (type == "any") return b_.any_json();
    if (type == "null") return b_.literal("null");
    if (type == "boolean") return b_.literal_set({"true", "false"});
    if (type == "string") return compile_string(s, ptr);
    if (type == "integer") return compile_integer(s, ptr);
    if (type == "number") return compile_number(s, ptr);
    if (type == "array") return compile_array(s, ptr);
    if (type == "object") {
      ObjectShape shape;
      PENSIEVE_TRY(collect_own_keywords(s, ptr, shape));
      return compile_object_rule(shape, ptr);
    }
    return invalid("unknown type '" + type + "'", ptr + "/type");
  }

  Result<Rule> compile_object_rule(const ObjectShape& shape, const std::string& ptr) {
    for (const std::string& name : shape.required) {
      bool listed = false;
      for (const auto& p : shape.properties) listed = listed || p.first == name;
      if (!listed)
        return unsupported("required property '" + name + "' that is not in properties", shape.required_ptr);
    }
    const std::uint32_t id = b_.declare("object " + at(ptr));
    const Rule ws = b_.optional_whitespace();
    const Rule sep = b_.sequence({ws, b_.literal(","), ws});
    const Rule colon = b_.sequence({ws, b_.literal(":"), ws});
    std::vector<Rule> blocks;
    std::vector<bool> required;
    for (const auto& [name, sub] : shape.properties) {
      auto value = compile(*sub.first, sub.second);
      if (!value) return value.error();
      blocks.push_back(b_.sequence({b_.literal(dumped(json(name))), colon, *value}));
      required.push_back(shape.required.contains(name));
    }
    std::optional<Rule> extra;
    if (shape.additional == nullptr) {
      if (!shape.has_properties) extra = b_.any_json();
    } else if (!(shape.additional->is_boolean() && !shape.additional->template get<bool>())) {
      auto value = compile(*shape.additional, shape.additional_ptr);
      if (!value) return value.error();
      extra = *value;
    }
    std::optional<Rule> extra_member;
    if (extra) {
      // An extra member must not repeat a listed name: a reader keeps one of the two values.
      std::vector<std::string> listed;
      for (const auto& p : shape.properties) listed.push_back(p.first);
      const Rule key = listed.empty() ? b_.json_string() : b_.json_key_other_than(listed);
      extra_member = b_.sequence({key, colon, *extra});
    }

    const std::size_t k = blocks.size();
    // g[j]: what may follow once something has been written and properties before j are done.
    std::vector<Rule> g(k + 1);
    g[k] = extra_member ? b_.repeat(b_.sequence({sep, *extra_member}), 0, std::nullopt) : b_.empty();
    for (std::size_t j = k; j-- > 0;) {
      const Rule member = b_.sequence({sep, blocks[j]});
      g[j] = b_.sequence({required[j] ? member : b_.optional(member), g[j + 1]});
    }
    // f[j]: at least one member, nothing written yet, properties before j skipped.
    std::vector<std::optional<Rule>> f(k + 1);
    if (extra_member) f[k] = b_.sequence({*extra_member, g[k]});
    for (std::size_t j = k; j-- > 0;) {
      std::vector<Rule> choices{b_.sequence({blocks[j], g[j + 1]})};
      if (!required[j] && f[j + 1]) choices.push_back(*f[j + 1]);
      f[j] = b_.alternatives(std::move(choices));
    }
    bool all_optional = true;
    for (const bool r : required) all_optional = all_optional && !r;
    std::vector<Rule> bodies;
    if (all_optional) bodies.push_back(b_.literal("}"));
    if (f[0]) bodies.push_back(b_.sequence({*f[0], ws, b_.literal("}")}));
    b_.define(id, b_.sequence({b_.literal("{"), ws, b_.alternatives(std::move(bodies))}));
    return b_.call(id);
  }

  static Result<std::optional<std::size_t>> count(const json& s, const char* key, const std::string& ptr) {
    if (!s.contains(key)) return std::optional<std::size_t>{};
    const json& v = s[key];
    if (!v.is_number_integer() || v.template get<std::int64_t>() < 0)
      return invalid(std::string(key) + " must be a non-negative integer", ptr + "/" + key);
    return std::optional<std::size_t>{v.template get<std::size_t>()};
  }

  // What a string schema asks of its text: a format, or a length in code points.
  struct StringShape {
    std::optional<std::string> format;
    std::size_t min = 0;
    std::optional<std::size_t> max;  // unset also when over kMaxBoundedRepeat (not enforced)
  };

  Result<StringShape> string_shape(const json& s, const std::string& ptr) const {
    if (s.contains("pattern"))
      return unsupported("keyword 'pattern' (regular expressions are not supported)", ptr + "/pattern");
    StringShape shape;
    if (s.contains("format")) {
      const json& f = s["format"];
      if (!f.is_string()) return invalid("format must be a string", ptr + "/format");
      shape.format = f.template get<std::string>();
      return shape;
    }
    auto min = count(s, "minLength", ptr);
    if (!min) return min.error();
    auto max = count(s, "maxLength", ptr);
    if (!max) return max.error();
    shape.min = min->value_or(0);
    if (shape.min > kMaxBoundedRepeat)
      return unsupported("minLength over " + std::to_string(kMaxBoundedRepeat), ptr + "/minLength");
    shape.max = *max;
    if (shape.max && *shape.max > kMaxBoundedRepeat) shape.max.reset();
    if (shape.max && *shape.max < shape.min) return invalid("maxLength below minLength", ptr + "/maxLength");
    return shape;
  }

  Result<Rule> compile_string(const json& s, const std::string& ptr) {
    auto shape = string_shape(s, ptr);
    if (!shape) return shape.error();
    if (shape->format) {
      if (auto r = json_format(b_, *shape->format)) return *r;
      return unsupported("format '" + *shape->format + "'", ptr + "/format");
    }
    return b_.json_string(shape->min, shape->max);
  }

  // The bounds as integers (lowest and highest allowed), where they fit.
  Status integer_bounds(const json& s, const std::string& ptr, std::optional<std::int64_t>& lo,
                        std::optional<std::int64_t>& hi) {
    constexpr double kLimit = 9.0e15;
    for (const char* key : {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"}) {
      if (!s.contains(key)) continue;
      const json& v = s[key];
      if (!v.is_number()) return unsupported(std::string("non-numeric '") + key + "'", ptr + "/" + key);
      const double d = v.template get<double>();
      const std::string k = key;
      if (k == "minimum" || k == "exclusiveMinimum") {
        if (d < -kLimit) continue;
        if (d > kLimit) return unsupported("a lower bound this large", ptr + "/" + k);
        const auto x = static_cast<std::int64_t>(k == "minimum" ? std::ceil(d) : std::floor(d) + 1);
        lo = lo ? std::max(*lo, x) : x;
      } else {
        if (d > kLimit) continue;
        if (d < -kLimit) return unsupported("an upper bound this small", ptr + "/" + k);
        const auto x = static_cast<std::int64_t>(k == "maximum" ? std::floor(d) : std::ceil(d) - 1);
        hi = hi ? std::min(*hi, x) : x;
      }
    }
    if (lo && hi && *lo > *hi) return invalid("the bounds leave no integer", ptr);
    return {};
  }

  Result<Rule> compile_integer(const json& s, const std::string& ptr) {
    std::optional<std::int64_t> lo, hi;
    PENSIEVE_TRY(integer_bounds(s, ptr, lo, hi));
    if (lo && hi && *hi - *lo < kMaxIntegerRange) {
      std::vector<std::string> values;
      for (std::int64_t v = *lo; v <= *hi; ++v) values.push_back(std::to_string(v));
      return b_.literal_set(std::move(values));
    }
    const Rule positive = b_.sequence(
        {b_.bytes(ByteSet::range('1', '9')), b_.repeat(b_.bytes(ByteSet::range('0', '9')), 0, 18)});
    const Rule negative = b_.sequence({b_.literal("-"), positive});
    if (lo && *lo >= 1) return positive;
    if (lo && *lo >= 0) return b_.alternatives({b_.literal("0"), positive});
    if (hi && *hi <= -1) return negative;
    if (hi && *hi <= 0) return b_.alternatives({b_.literal("0"), negative});
    return b_.alternatives({b_.literal("0"), positive, negative});
  }

  Result<Rule> compile_number(const json& s, const std::string& ptr) {
    for (const char* key : {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"})
      if (s.contains(key) && !s[key].is_number())
        return unsupported(std::string("non-numeric '") + key + "'", ptr + "/" + key);
    const bool non_negative =
        (s.contains("minimum") && s["minimum"].template get<double>() >= 0) ||
        (s.contains("exclusiveMinimum") && s["exclusiveMinimum"].template get<double>() >= 0);
    const Rule digit = b_.bytes(ByteSet::range('0', '9'));
    const Rule integer = b_.alternatives(
        {b_.literal("0"), b_.sequence({b_.bytes(ByteSet::range('1', '9')), b_.repeat(digit, 0, 19)})});
    const Rule fraction = b_.sequence({b_.literal("."), b_.repeat(digit, 1, 20)});
    const Rule exponent = b_.sequence(
        {b_.literal_set({"e", "E", "e+", "E+", "e-", "E-"}), b_.repeat(digit, 1, 2)});  // see make_number
    const Rule body = b_.sequence({integer, b_.optional(fraction), b_.optional(exponent)});
    if (non_negative) return body;
    return b_.sequence({b_.optional(b_.literal("-")), body});
  }

  Result<Rule> compile_array(const json& s, const std::string& ptr) {
    std::vector<Rule> prefix;
    if (s.contains("prefixItems")) {
      const json& list = s["prefixItems"];
      if (!list.is_array()) return invalid("prefixItems must be an array", ptr + "/prefixItems");
      for (std::size_t i = 0; i < list.size(); ++i) {
        auto r = compile(list[i], ptr + "/prefixItems/" + std::to_string(i));
        if (!r) return r.error();
        prefix.push_back(*r);
      }
    }
    std::optional<Rule> items;
    if (!s.contains("items")) {
      items = b_.any_json();
    } else if (!(s["items"].is_boolean() && !s["items"].template get<bool>())) {
      auto r = compile(s["items"], ptr + "/items");
      if (!r) return r.error();
      items = *r;
    }
    auto min_r = count(s, "minItems", ptr);
    if (!min_r) return min_r.error();
    auto max_r = count(s, "maxItems", ptr);
    if (!max_r) return max_r.error();
    const std::size_t min = min_r->value_or(0);
    std::optional<std::size_t> max = *max_r;
    if (max && *max > kMaxBoundedRepeat) max.reset();
    if (!items) max = std::min(max.value_or(prefix.size()), prefix.size());
    if (max && min > *max) return invalid("minItems above what maxItems and items allow", ptr + "/minItems");
    if (min > kMaxBoundedRepeat)
      return unsupported("minItems over " + std::to_string(kMaxBoundedRepeat), ptr + "/minItems");

    const std::uint32_t id = b_.declare("array " + at(ptr));
    const Rule ws = b_.optional_whitespace();
    const Rule sep = b_.sequence({ws, b_.literal(","), ws});
    auto element = [&](std::size_t i) { return i < prefix.size() ? prefix[i] : *items; };
    // tail(i): what may follow once i elements have been written.
    auto tail = [&](auto&& self, std::size_t i) -> Rule {
      if (max && i >= *max) return b_.empty();
      if (i >= prefix.size()) {
        const std::size_t need = min > i ? min - i : 0;
        std::optional<std::size_t> more;
        if (max) more = *max - i;
        return b_.repeat(b_.sequence({sep, *items}), need, more);
      }
      const Rule part = b_.sequence({sep, element(i), self(self, i + 1)});
      return i >= min ? b_.optional(part) : part;
    };
    std::vector<Rule> bodies;
    if (min == 0) bodies.push_back(b_.literal("]"));
    if (!max || *max >= 1) bodies.push_back(b_.sequence({element(0), tail(tail, 1), ws, b_.literal("]")}));
    b_.define(id, b_.sequence({b_.literal("["), ws, b_.alternatives(std::move(bodies))}));
    return b_.call(id);
  }

  GrammarBuilder& b_;
  const json& root_;
  std::map<std::string, std::uint32_t> refs_;
};

}  // namespace detail

}  // namespace pensieve::grammar
