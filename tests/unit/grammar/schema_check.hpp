// For the grammar tests: a validator for the JSON Schema subset the grammar supports (checking
// what the grammar promises to enforce, see grammar/json_schema.cpp), and a generator of valid
// instances.
#pragma once

#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <string>

namespace pensieve::grammar::testing {

using nlohmann::ordered_json;

inline std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (const unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

class SchemaCheck {
 public:
  explicit SchemaCheck(const ordered_json& root) : root_(root) {}

  // Empty when v is valid; otherwise why not.
  std::string validate(const ordered_json& v, const ordered_json& s) const {
    if (s.is_boolean()) return s.get<bool>() ? "" : "false schema";
    if (s.contains("$ref")) return validate(v, resolve(s["$ref"].get<std::string>()));
    if (s.contains("const")) return v == s["const"] ? "" : "const mismatch";
    if (s.contains("enum")) {
      for (const auto& e : s["enum"])
        if (e == v) return "";
      return "not in enum: " + v.dump();
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      for (const auto& sub : s[key])
        if (validate(v, sub).empty()) return "";
      return std::string("no ") + key + " branch matches " + v.dump();
    }
    if (s.contains("allOf")) {
      // Merged objects: every listed property anywhere, required from all, additional as merged.
      ordered_json merged = {
          {"type", "object"}, {"properties", ordered_json::object()}, {"required", ordered_json::array()}};
      merge(s, merged);
      return validate(v, merged);
    }
    std::vector<std::string> types;
    if (s.contains("type")) {
      if (s["type"].is_string()) {
        types.push_back(s["type"]);
      } else {
        for (const auto& t : s["type"]) types.push_back(t);
      }
    } else if (s.contains("properties") || s.contains("additionalProperties")) {
      types.push_back("object");
    } else if (s.contains("items") || s.contains("prefixItems")) {
      types.push_back("array");
    } else {
      return "";
    }
    std::string why;
    for (const auto& t : types) {
      why = typed(v, s, t);
      if (why.empty()) return "";
    }
    return why;
  }

  // A random valid instance; `depth` limits recursion.
  ordered_json generate(const ordered_json& s, std::mt19937& rng, int depth = 0) const {
    auto coin = [&rng](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
    auto pick = [&rng](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    if (s.is_boolean() || s.empty()) return ordered_json{{"k", {1, "x", nullptr}}};
    if (s.contains("$ref")) return generate(resolve(s["$ref"].get<std::string>()), rng, depth + 1);
    if (s.contains("const")) return s["const"];
    if (s.contains("enum")) return s["enum"][pick(s["enum"].size())];
    for (const char* key : {"anyOf", "oneOf"})
      if (s.contains(key)) return generate(s[key][pick(s[key].size())], rng, depth + 1);
    if (s.contains("allOf")) {
      ordered_json merged = {
          {"type", "object"}, {"properties", ordered_json::object()}, {"required", ordered_json::array()}};
      merge(s, merged);
      return generate(merged, rng, depth);
    }
    std::string type = "object";
    if (s.contains("type"))
      type = s["type"].is_string() ? s["type"].get<std::string>()
                                   : s["type"][pick(s["type"].size())].get<std::string>();
    if (type == "null") return nullptr;
    if (type == "boolean") return coin(0.5);
    if (type == "integer") {
      const long lo = s.contains("minimum") ? s["minimum"].get<long>() : -1000;
      const long hi = s.contains("maximum") ? s["maximum"].get<long>() : 100000;
      return std::uniform_int_distribution<long>(lo, hi)(rng);
    }
    if (type == "number") {
      const double x = std::uniform_real_distribution<double>(0, 1000)(rng);
      return coin(0.5) ? ordered_json(static_cast<long>(x)) : ordered_json(x);
    }
    if (type == "string") return string_for(s, rng);
    if (type == "array") {
      std::size_t lo = s.value("minItems", 0), hi = s.value("maxItems", 4);
      std::size_t prefix = s.contains("prefixItems") ? s["prefixItems"].size() : 0;
      if (s.contains("items") && s["items"] == false) hi = std::min(hi, prefix);
      if (depth > 3) hi = lo;
      ordered_json a = ordered_json::array();
      const std::size_t n = lo + (hi > lo ? pick(hi - lo + 1) : 0);
      for (std::size_t i = 0; i < n; ++i) {
        const ordered_json& item =
            i < prefix ? s["prefixItems"][i] : (s.contains("items") ? s["items"] : ordered_json(true));
        a.push_back(generate(item, rng, depth + 1));
      }
      return a;
    }
    ordered_json o = ordered_json::object();
    const ordered_json props = s.value("properties", ordered_json::object());
    const ordered_json required = s.value("required", ordered_json::array());
    for (const auto& [name, sub] : props.items()) {
      const bool req = std::find(required.begin(), required.end(), name) != required.end();
      if (req || (depth < 3 && coin(0.5))) o[name] = generate(sub, rng, depth + 1);
    }
    if (s.contains("additionalProperties") && s["additionalProperties"].is_object() && coin(0.5))
      o["zz_extra"] = generate(s["additionalProperties"], rng, depth + 1);
    return o;
  }

 private:
  const ordered_json& resolve(const std::string& ref) const {
    return root_.at(ordered_json::json_pointer(ref.substr(1)));
  }

  void merge(const ordered_json& s, ordered_json& into) const {
    const ordered_json& x = s.contains("$ref") ? resolve(s["$ref"].get<std::string>()) : s;
    if (x.contains("allOf"))
      for (const auto& sub : x["allOf"]) merge(sub, into);
    if (x.contains("properties"))
      for (const auto& [k, v] : x["properties"].items()) into["properties"][k] = v;
    if (x.contains("required"))
      for (const auto& r : x["required"]) into["required"].push_back(r);
    if (x.contains("additionalProperties")) into["additionalProperties"] = x["additionalProperties"];
  }

  static ordered_json string_for(const ordered_json& s, std::mt19937& rng) {
    const std::string format = s.value("format", "");
    if (format == "uri") return "https://example.com/a/b?q=1&r=%20#frag";
    if (format == "uuid") return "123e4567-e89b-12d3-a456-426614174000";
    if (format == "date-time") return "2024-02-29T23:59:60.123+05:30";
    if (format == "date") return "2024-12-31";
    if (format == "time") return "08:15:00Z";
    if (format == "email") return "first.last+tag@mail.example.org";
    static const std::vector<std::string> kPieces = {
        "ls -la", " ",      "\"quoted\"", "back\\slash",     "line\nbreak", "tab\t",
        "é",      "日本語", "😀",          "{\"json\": [1]}", "x",           "\u0001"};
    const std::size_t lo = s.value("minLength", 0), hi = s.value("maxLength", 40);
    std::string out;
    std::uniform_int_distribution<std::size_t> piece(0, kPieces.size() - 1);
    const std::size_t target =
        std::uniform_int_distribution<std::size_t>(lo, std::min<std::size_t>(hi, lo + 12))(rng);
    while (code_points(out) < target) {
      const std::string& p = kPieces[piece(rng)];
      if (code_points(out) + code_points(p) > hi) {
        out += "a";
      } else {
        out += p;
      }
    }
    return out;
  }

  std::string typed(const ordered_json& v, const ordered_json& s, const std::string& t) const {
    if (t == "null") return v.is_null() ? "" : "not null";
    if (t == "boolean") return v.is_boolean() ? "" : "not boolean";
    if (t == "integer") {
      if (!v.is_number_integer()) return "not integer: " + v.dump();
      const double x = v.get<double>();
      if (s.contains("minimum") && x < s["minimum"].get<double>()) return "below minimum";
      if (s.contains("maximum") && x > s["maximum"].get<double>()) return "above maximum";
      return "";
    }
    if (t == "number") {
      if (!v.is_number()) return "not number";
      if (s.contains("minimum") && s["minimum"].get<double>() >= 0 && v.get<double>() < 0) return "negative";
      return "";
    }
    if (t == "string") {
      if (!v.is_string()) return "not string";
      const std::string x = v.get<std::string>();
      if (code_points(x) < s.value("minLength", std::size_t{0})) return "too short";
      if (s.contains("maxLength") && code_points(x) > s["maxLength"].get<std::size_t>()) return "too long";
      const std::string format = s.value("format", "");
      static const std::map<std::string, std::regex> kFormats = {
          {"uuid",
           std::regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")},
          {"date", std::regex("^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")},
          {"date-time", std::regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(["
                                   "Zz]|[+-][0-9]{2}:[0-9]{2})$")},
          {"uri", std::regex("^[a-zA-Z][a-zA-Z0-9+.-]*:[^ \"\\\\]+$")},
          {"email", std::regex("^[^@ ]+@[A-Za-z0-9.-]+$")}};
      if (auto it = kFormats.find(format); it != kFormats.end() && !std::regex_match(x, it->second))
        return "bad " + format + ": " + x;
      return "";
    }
    if (t == "array") {
      if (!v.is_array()) return "not array";
      if (v.size() < s.value("minItems", std::size_t{0})) return "too few items";
      if (s.contains("maxItems") && v.size() > s["maxItems"].get<std::size_t>()) return "too many items";
      const std::size_t prefix = s.contains("prefixItems") ? s["prefixItems"].size() : 0;
      for (std::size_t i = 0; i < v.size(); ++i) {
        const ordered_json& sub =
            i < prefix ? s["prefixItems"][i] : (s.contains("items") ? s["items"] : ordered_json(true));
        if (auto why = validate(v[i], sub); !why.empty()) return "[" + std::to_string(i) + "] " + why;
      }
      return "";
    }
    if (t == "object") {
      if (!v.is_object()) return "not object";
      const ordered_json props = s.value("properties", ordered_json::object());
      for (const auto& r : s.value("required", ordered_json::array()))
        if (!v.contains(r.get<std::string>())) return "missing " + r.get<std::string>();
      const bool has_props = s.contains("properties") || s.contains("allOf");
      for (const auto& [k, x] : v.items()) {
        if (props.contains(k)) {
          if (auto why = validate(x, props[k]); !why.empty()) return k + ": " + why;
          continue;
        }
        if (!s.contains("additionalProperties")) {
          if (has_props) return "unlisted property " + k;
          continue;
        }
        if (auto why = validate(x, s["additionalProperties"]); !why.empty()) return k + ": " + why;
      }
      return "";
    }
    return "unknown type " + t;
  }

  const ordered_json& root_;
};

}  // namespace pensieve::grammar::testing
