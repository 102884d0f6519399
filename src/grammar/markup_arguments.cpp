// GrammarBuilder::markup_arguments: a tool's arguments as Qwen3-Coder and GLM write them, one
// parameter at a time between tags, each value bare text. Everything here follows from how the
// family parsers read a value back (chat/text_arguments.cpp, typed_argument_value):
//  - The parser looks the parameter up in the tool's "properties" (directly, no $ref); when that
//    schema's type is "string" (or a list of "string" and "null") the text is the string as it is.
//    Such a value is written raw: any UTF-8 text without `value_end`, or the enum/const strings
//    (those that hold `value_end` cannot be written), or a format's text; a counted length
//    (minLength/maxLength) leaves '<' out, because "no `value_end`" and a count do not combine into
//    a small automaton.
//  - Otherwise the text is parsed as JSON, and taken raw when that fails or gives a string. Such a
//    value is JSON for its schema minus the top-level strings, which are written raw instead and
//    only where they cannot read as something else: enum/const strings whose text does not parse
//    as another JSON value, format texts (they never do), and free strings that are empty or do
//    not begin with a blank, '-', a digit, '[', '{', 't', 'f', 'n' or U+FEFF (which nlohmann::json
//    skips) — a restriction, only for parameters that mix strings with other types.
//  - JSON in a value never writes "</" (GrammarBuilder::markup_json_), so no JSON string can
//    close the tag.
//  - Listed names that the parser could not read back (empty, blanks at the ends, '<', '>',
//    control characters) are left out, or refused when required. Extra names, where
//    additionalProperties allows them, are 1–64 of [A-Za-z0-9_.-] and never a listed name.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "grammar/builder.hpp"
#include "grammar/compile.hpp"
#include "grammar/raw_text_schema.hpp"
#include "grammar/schema_compiler.hpp"

namespace pensieve::grammar {
namespace detail {

namespace {

constexpr std::size_t kMaxExtraName = 64;

ByteSet ascii_except(std::string_view excluded) {
  ByteSet out;
  for (unsigned b = 0; b <= 0x7F; ++b)
    if (excluded.find(static_cast<char>(b)) == std::string_view::npos) out.add(static_cast<std::uint8_t>(b));
  return out;
}

ByteSet name_chars() {
  ByteSet s = ByteSet::range('a', 'z');
  s |= ByteSet::range('A', 'Z');
  s |= ByteSet::range('0', '9');
  for (const char c : std::string_view("_.-")) s.add(static_cast<std::uint8_t>(c));
  return s;
}

// A listed name the parsers read back as it is (Qwen3-Coder's reads at most 256 bytes).
bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 256 || name.front() == ' ' || name.back() == ' ') return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == '<' || c == '>') return false;
  }
  return true;
}

// Whether a string written raw where the parser tries JSON first comes back as itself.
bool reads_back_as_string(const std::string& text) {
  const auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() || parsed.is_string();
}

}  // namespace

template <class json>
class MarkupCompiler : public SchemaCompiler<json> {
 public:
  MarkupCompiler(GrammarBuilder& b, const json& root, const MarkupForm& form)
      : SchemaCompiler<json>(b, root), form_(form) {}

  Result<Rule> arguments() {
    GrammarBuilder& b = this->b_;
    const json& root = this->root_;
    typename SchemaCompiler<json>::ObjectShape shape;
    PENSIEVE_TRY(object_shape(root, "", shape, 0));
    for (const std::string& name : shape.required) {
      bool listed = false;
      for (const auto& p : shape.properties) listed = listed || p.first == name;
      if (!listed)
        return unsupported("required property '" + name + "' that is not in properties", shape.required_ptr);
    }
    const json* direct = nullptr;  // the "properties" the parser looks parameters up in
    if (root.is_object() && root.contains("properties") && root["properties"].is_object())
      direct = &root["properties"];

    std::vector<Rule> parts;
    std::vector<std::string> listed;
    for (const auto& [name, sub] : shape.properties) {
      listed.push_back(name);
      const bool required = shape.required.contains(name);
      if (!plain_name(name)) {
        if (required) return unsupported("a required parameter name markup cannot hold", sub.second);
        continue;
      }
      const bool raw = direct && direct->contains(name) && is_raw_text_schema((*direct)[name]);
      auto value = raw ? raw_value(*sub.first, sub.second) : value_text(*sub.first, sub.second, 0);
      if (!value) return value.error();
      const Rule member = b.sequence({markup(form_.name_open), b.literal(name), markup(form_.name_close),
                                      *value, markup(form_.value_close)});
      parts.push_back(required ? member : b.optional(member));
    }
    const json* extra = shape.additional;
    static const json kAny = true;
    if (extra == nullptr && !shape.has_properties) extra = &kAny;
    if (extra != nullptr && !(extra->is_boolean() && !extra->template get<bool>())) {
      auto value = value_text(*extra, shape.additional_ptr, 0);
      if (!value) return value.error();
      const Rule member = b.sequence({markup(form_.name_open), name_other_than(std::move(listed)),
                                      markup(form_.name_close), *value, markup(form_.value_close)});
      parts.push_back(b.repeat(member, 0, std::nullopt));
    }
    // A named rule, so that a grammar may use it in several places (several calls in a row)
    // without copies.
    const std::uint32_t id = b.declare("markup arguments");
    b.define(id, parts.empty() ? b.empty() : b.sequence(std::move(parts)));
    return b.call(id);
  }

 private:
  // The arguments' own object schema, through $ref and allOf.
  Status object_shape(const json& s, const std::string& ptr,
                      typename SchemaCompiler<json>::ObjectShape& shape, int depth) {
    if (depth > 64) return invalid("$ref chain too long", ptr);
    if (s.is_boolean() && s.template get<bool>()) return {};
    if (!s.is_object()) return unsupported("tool arguments that are not an object schema", ptr);
    PENSIEVE_TRY(this->check_keywords(s, ptr));
    if (s.contains("$ref")) {
      auto target = this->resolve(s, ptr);
      if (!target) return target.error();
      return object_shape(*target->first, target->second, shape, depth + 1);
    }
    if (s.contains("allOf")) return this->collect_object(s, ptr, shape);
    for (const char* k : {"anyOf", "oneOf", "enum", "const"})
      if (s.contains(k))
        return unsupported(std::string("keyword '") + k + "' for tool arguments in markup", ptr);
    auto types = this->types_of(s, ptr);
    if (!types) return types.error();
    if (types->size() != 1 || ((*types)[0] != "object" && (*types)[0] != "any"))
      return unsupported("tool arguments that are not an object schema", ptr + "/type");
    return this->collect_own_keywords(s, ptr, shape);
  }

  Rule markup(const std::string& text) { return this->b_.text_with_tokens(text, form_.tokens); }

  // One valid UTF-8 character, not one of the ASCII characters `excluded`.
  Rule text_char(std::string_view excluded) {
    GrammarBuilder& b = this->b_;
    return b.alternatives({b.bytes(ascii_except(excluded)), b.utf8_multibyte()});
  }

  // Any text without value_end, as one named rule per value_end in the builder (it is the value
  // of most parameters). value_end begins with a character that it holds nowhere else ('<'), so
  // every occurrence begins at a '<', and the text is: characters other than '<', then any number
  // of '<' each followed by a run without '<' that does not begin with the rest of value_end.
  Rule free_text() {
    GrammarBuilder& b = this->b_;
    const std::string& end = form_.value_end;
    if (const auto it = b.markup_text_rules_.find(end); it != b.markup_text_rules_.end())
      return b.call(it->second);
    const std::uint32_t id = b.declare("text without " + end);
    b.markup_text_rules_.emplace(end, id);
    const char lead = end.front();
    const Rule plain = b.repeat(text_char(std::string_view(&lead, 1)), 0, std::nullopt);
    const std::string rest = end.substr(1);
    // run(k): the run after a lead that has matched rest[0, k) so far.
    Rule run = b.empty();
    bool have_run = false;
    for (std::size_t k = rest.size(); k-- > 0;) {
      const std::string excluded = std::string(1, lead) + rest[k];
      std::vector<Rule> choices{b.empty(), b.sequence({text_char(excluded), plain})};
      if (have_run) choices.push_back(b.sequence({b.literal(rest.substr(k, 1)), run}));
      run = b.alternatives(std::move(choices));
      have_run = true;
    }
    b.define(id, b.sequence(
                     {plain, b.repeat(b.sequence({b.literal(std::string(1, lead)), run}), 0, std::nullopt)}));
    return b.call(id);
  }

  // Raw text of min..max code points (no max: at least min), without value_end; counted texts
  // leave out value_end's first character altogether. One named rule per shape in the builder.
  Rule counted_text(std::size_t min, std::optional<std::size_t> max) {
    GrammarBuilder& b = this->b_;
    if (min == 0 && !max) return free_text();
    const std::string key =
        form_.value_end + " " + std::to_string(min) + "," + (max ? std::to_string(*max) : "");
    if (const auto it = b.markup_text_rules_.find(key); it != b.markup_text_rules_.end())
      return b.call(it->second);
    const std::uint32_t id = b.declare("text " + key);
    b.markup_text_rules_.emplace(key, id);
    const std::string lead(1, form_.value_end.front());
    b.define(id, max ? b.repeat(text_char(lead), min, max)
                     : b.sequence({b.repeat(text_char(lead), min, min), free_text()}));
    return b.call(id);
  }

  // The string values of a string schema as raw text; `mixed`: where the parser tries JSON first.
  Result<Rule> string_text(const json& s, const std::string& ptr, bool mixed) {
    GrammarBuilder& b = this->b_;
    auto shape = this->string_shape(s, ptr);
    if (!shape) return shape.error();
    if (shape->format) {
      if (auto r = format_text(b, *shape->format)) return *r;
      return unsupported("format '" + *shape->format + "'", ptr + "/format");
    }
    if (!mixed) return counted_text(shape->min, shape->max);
    // Not empty: a first character that JSON cannot begin with (see the header comment).
    const Rule first =
        b.alternatives({b.bytes(ascii_except(" \t\n\r\f\v-0123456789[{tfn<")), b.utf8_multibyte(false)});
    std::optional<std::size_t> rest_max;
    if (shape->max) {
      if (*shape->max == 0) return b.empty();
      rest_max = *shape->max - 1;
    }
    const Rule some = b.sequence({first, counted_text(shape->min > 0 ? shape->min - 1 : 0, rest_max)});
    return shape->min == 0 ? b.alternatives({b.empty(), some}) : some;
  }

  // Enum/const values as the parser reads them: strings raw (where `mixed` only those that read
  // back as themselves), other values as JSON (only where `mixed`).
  Result<Rule> values_text(const std::vector<json>& values, const std::string& ptr, bool mixed) {
    GrammarBuilder& b = this->b_;
    std::vector<std::string> texts;
    std::vector<json> others;
    for (const json& v : values) {
      if (v.is_string()) {
        const std::string text = v.template get<std::string>();
        if (text.find(form_.value_end) != std::string::npos) continue;
        if (mixed && !reads_back_as_string(text)) continue;
        texts.push_back(text);
      } else if (mixed) {
        others.push_back(v);
      }
    }
    std::vector<Rule> choices;
    if (!texts.empty()) choices.push_back(b.literal_set(std::move(texts)));
    if (!others.empty()) choices.push_back(this->exactly(others));
    if (choices.empty()) return unsupported("no value of this enum can be written in markup", ptr);
    return b.alternatives(std::move(choices));
  }

  // A parameter the parser takes as raw text: its string values.
  Result<Rule> raw_value(const json& s, const std::string& ptr) {
    PENSIEVE_TRY(this->check_keywords(s, ptr));
    for (const char* k : {"$ref", "anyOf", "oneOf", "allOf"})
      if (s.contains(k)) return unsupported(std::string("keyword '") + k + "' beside type string", ptr);
    if (s.contains("const")) return values_text({s["const"]}, ptr + "/const", false);
    if (s.contains("enum")) {
      const json& values = s["enum"];
      if (!values.is_array() || values.empty())
        return invalid("enum must be a non-empty array", ptr + "/enum");
      return values_text(std::vector<json>(values.begin(), values.end()), ptr + "/enum", false);
    }
    return string_text(s, ptr, false);
  }

  // A parameter the parser reads as JSON first: JSON without top-level strings, or raw strings
  // that cannot read as anything else.
  Result<Rule> value_text(const json& s, const std::string& ptr, int depth) {
    GrammarBuilder& b = this->b_;
    if (depth > 64) return invalid("$ref chain too long", ptr);
    if (s.is_boolean()) {
      if (s.template get<bool>()) return any_text(ptr);
      return invalid("the schema 'false' matches nothing", ptr);
    }
    if (!s.is_object()) return invalid("a schema must be an object or a boolean", ptr);
    PENSIEVE_TRY(this->check_keywords(s, ptr));
    if (s.contains("$ref")) {
      for (const auto& [key, value] : s.items())
        if (key != "$ref" && !kIgnored.contains(key))
          return unsupported("keyword '" + key + "' beside $ref", ptr + "/" + escape_pointer_token(key));
      auto target = this->resolve(s, ptr);
      if (!target) return target.error();
      return value_text(*target->first, target->second, depth + 1);
    }
    if (s.contains("const")) return values_text({s["const"]}, ptr + "/const", true);
    if (s.contains("enum")) {
      const json& values = s["enum"];
      if (!values.is_array() || values.empty())
        return invalid("enum must be a non-empty array", ptr + "/enum");
      return values_text(std::vector<json>(values.begin(), values.end()), ptr + "/enum", true);
    }
    for (const char* combinator : {"anyOf", "oneOf"}) {
      if (!s.contains(combinator)) continue;
      const std::string here = ptr + "/" + combinator;
      auto checked = this->combinator_list(s, ptr, combinator);
      if (!checked) return checked.error();
      const json& list = **checked;
      std::vector<Rule> choices;
      for (std::size_t i = 0; i < list.size(); ++i) {
        auto r = value_text(list[i], here + "/" + std::to_string(i), depth + 1);
        if (!r) return r.error();
        choices.push_back(*r);
      }
      return b.alternatives(std::move(choices));
    }
    if (s.contains("allOf")) {
      // One schema alone is that schema; several are merged objects (compile_all_of).
      const json& list = s["allOf"];
      bool only_ignored = true;
      for (const auto& [key, value] : s.items())
        only_ignored = only_ignored && (key == "allOf" || kIgnored.contains(key));
      if (list.is_array() && list.size() == 1 && only_ignored)
        return value_text(list[0], ptr + "/allOf/0", depth + 1);
      return this->compile(s, ptr);
    }
    auto types = this->types_of(s, ptr);
    if (!types) return types.error();
    std::vector<Rule> choices;
    for (const std::string& t : *types) {
      auto r = t == "string" ? string_text(s, ptr, true)
               : t == "any"  ? any_text(ptr)
                             : this->compile_typed(s, ptr, t);
      if (!r) return r.error();
      choices.push_back(*r);
    }
    return b.alternatives(std::move(choices));
  }

  // Any value: JSON other than a string, or a string that cannot read as one.
  Result<Rule> any_text(const std::string& ptr) {
    std::vector<Rule> choices;
    const json none = json::object();
    for (const char* t : {"object", "array", "number", "boolean", "null"}) {
      auto r = this->compile_typed(none, ptr, t);
      if (!r) return r.error();
      choices.push_back(*r);
    }
    auto text = string_text(none, ptr, true);
    if (!text) return text.error();
    choices.push_back(*text);
    return this->b_.alternatives(std::move(choices));
  }

  // A name of name_chars(), 1..kMaxExtraName long, that is none of `names`: a trie of the names
  // in which every branch that leaves them is free and every node that is not a name may end.
  Rule name_other_than(std::vector<std::string> names) {
    GrammarBuilder& b = this->b_;
    const ByteSet chars = name_chars();
    // Longer names can never be written anyway.
    std::erase_if(names, [](const std::string& n) { return n.size() > kMaxExtraName; });
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    // [begin, end): the names that share their first `depth` bytes (the path to this node).
    auto node = [&](auto&& self, std::size_t begin, std::size_t end, std::size_t depth) -> Rule {
      std::vector<Rule> choices;
      std::size_t i = begin;
      const bool is_name = i < end && names[i].size() == depth;
      if (is_name) ++i;
      if (depth > 0 && !is_name) choices.push_back(b.empty());
      ByteSet taken;
      while (i < end) {
        std::size_t j = i + 1;
        while (j < end && names[j][depth] == names[i][depth]) ++j;
        const auto c = static_cast<std::uint8_t>(names[i][depth]);
        taken.add(c);
        // A child at the length limit is a name itself, where nothing may end or go on.
        if (chars.test(c) && depth + 1 < kMaxExtraName)
          choices.push_back(b.sequence({b.bytes(ByteSet::single(c)), self(self, i, j, depth + 1)}));
        i = j;
      }
      ByteSet free;
      for (unsigned c = 0; c < 256; ++c) {
        const auto u = static_cast<std::uint8_t>(c);
        if (chars.test(u) && !taken.test(u)) free.add(u);
      }
      if (!free.empty() && depth < kMaxExtraName)
        choices.push_back(
            b.sequence({b.bytes(free), b.repeat(b.bytes(chars), 0, kMaxExtraName - depth - 1)}));
      return b.alternatives(std::move(choices));
    };
    return node(node, 0, names.size(), 0);
  }

  const MarkupForm& form_;
};

}  // namespace detail

Result<GrammarBuilder::Rule> GrammarBuilder::markup_arguments(const nlohmann::ordered_json& schema,
                                                              const MarkupForm& form) {
  if (form.value_end.empty() || form.value_end.find(form.value_end.front(), 1) != std::string::npos)
    return make_error(ErrorCode::kInvalidArgument,
                      "markup value_end must hold its first character only once");
  const bool was_markup = markup_json_;
  markup_json_ = true;
  detail::MarkupCompiler<nlohmann::ordered_json> compiler(*this, schema, form);
  auto rule = compiler.arguments();
  markup_json_ = was_markup;
  if (!rule) return rule.error();
  auto checked = detail::compile(pool_, rule->index, false);
  if (!checked) return checked.error().with_context("JSON schema");
  return rule;
}

}  // namespace pensieve::grammar
