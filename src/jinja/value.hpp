// jinja/value: the values a template computes with, modelled on the Python objects
// Jinja2 sees when Hugging Face renders a chat template (str, int, float, bool, None, list,
// tuple, dict with insertion order, namespace, callables, and Jinja's Undefined).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "jinja/text.hpp"

namespace pensieve::jinja {

class Value;
class Interpreter;

struct List {
  std::vector<Value> items;
  bool is_tuple = false;  // only changes how it prints: (1, 2) instead of [1, 2]
  int depth = 1;          // nesting depth, bounded so printing or freeing never recurses too deep
};

// Insertion-ordered like a Python dict. Keys are any hashable value (str, int, float, bool,
// None, tuples of those, ...) and match by Python's ==, so 1, 1.0 and True are one key; setting
// an existing key keeps the first key object and replaces the value, as Python does.
struct Dict {
  std::vector<std::pair<Value, Value>> entries;
  int depth = 1;  // set when it becomes a Value

  // The entry whose key is the string `key`.
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  // The entry whose key equals `key`, which must be hashable.
  const Value* find(const Value& key) const;
  Value* find(const Value& key);
  void set(Text key, Value value);
  void set(Value key, Value value);
};

// The object namespace() returns: the one mutable thing a template can hold.
struct Namespace {
  Dict attributes;

  // Sets an attribute; fails (kLimit) when the value nests too deeply.
  void set(Text name, Value value);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;

  // Positional `index` or keyword `name`, whichever was given; nullptr when neither.
  const Value* get(std::size_t index, std::string_view name) const;
};

using NativeFunction = std::function<Value(Interpreter&, CallArgs&)>;

struct Callable {
  std::string name;
  NativeFunction call;
  // What Python's type() calls the object Jinja2 would hold, for messages such as json.dumps'
  // "Object of type Macro is not JSON serializable".
  const char* python_type = "function";
};

struct Undefined {
  // Why it is undefined, for the error when it is used: "'x' is undefined".
  std::shared_ptr<const std::string> reason;
};

enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kCallable };

class Value {
 public:
  Value() = default;  // Undefined
  static Value undefined(std::string reason);
  static Value none() { return Value(Rep(std::in_place_index<1>, nullptr)); }
  static Value boolean(bool b) { return Value(Rep(std::in_place_index<2>, b)); }
  static Value integer(std::int64_t i) { return Value(Rep(std::in_place_index<3>, i)); }
  static Value floating(double d) { return Value(Rep(std::in_place_index<4>, d)); }
  static Value string(Text text);
  static Value string(std::string trusted_bytes) { return string(Text(std::move(trusted_bytes))); }
  static Value list(std::vector<Value> items, bool is_tuple = false);
  static Value dict(Dict dict);
  static Value make_namespace(Dict attributes);
  static Value callable(std::string name, NativeFunction fn, const char* python_type = "function");

  Kind kind() const { return static_cast<Kind>(rep_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_namespace() const { return kind() == Kind::kNamespace; }
  bool is_callable() const { return kind() == Kind::kCallable; }

  bool as_bool() const { return std::get<2>(rep_); }
  std::int64_t as_int() const;  // bool and int
  double as_double() const;     // bool, int and float
  const Text& text() const { return *std::get<5>(rep_); }
  const List& list() const { return *std::get<6>(rep_); }
  const Dict& dict() const { return *std::get<7>(rep_); }
  Namespace& ns() const { return *std::get<8>(rep_); }
  const Callable& callable() const { return *std::get<9>(rep_); }
  const std::string& undefined_reason() const;

  // Identity of the underlying object, for the `sameas` test.
  const void* identity() const;

 private:
  using Rep = std::variant<Undefined, std::nullptr_t, bool, std::int64_t, double, std::shared_ptr<const Text>,
                           std::shared_ptr<const List>, std::shared_ptr<const Dict>,
                           std::shared_ptr<Namespace>, std::shared_ptr<const Callable>>;
  explicit Value(Rep rep) : rep_(std::move(rep)) {}

  Rep rep_;
};

// How deeply containers nest inside `v` (0 for scalars); at most kMaxNesting.
inline constexpr int kMaxNesting = 256;
int nesting_depth(const Value& v);
// Fails (kLimit) when a recursive walk over values reaches `depth` > kMaxNesting.
void check_depth(int depth);

// Work proportional to the size of `v` (a string's bytes / 64, a container's length), which
// operations that walk a whole value pay in steps.
std::size_t work_units(const Value& v);

// Python's type name, as it appears in error messages: 'str', 'NoneType', 'dict', ...
std::string type_name(const Value& v);
bool truthy(const Value& v);
// Whether `v` can be a dict key: not a list or dict, nor a tuple holding one (Python's hash()).
bool hashable(const Value& v);
// Fails (kType, "unhashable type: 'list'") when `v` cannot be a dict key.
void require_hashable(const Value& v);
// Python ==: 1 == 1.0 == True; containers compare deeply, dicts ignoring order.
bool equals(const Value& a, const Value& b);
// Python <, for numbers, strings and lists; a kType failure otherwise. Returns -1, 0, 1.
int compare(const Value& a, const Value& b);

// str(v) and repr(v) as Python writes them; list and dict print as repr.
Text to_text(const Value& v);
Text repr_text(const Value& v);
// Python's repr of a float: shortest round-trip digits, "1e+16", "1.0", "inf".
std::string format_float(double d);

// Context values arrive as JSON; every string in them (keys too) gets `untrusted`. Only
// ordered_json keeps the key order templates see (nlohmann::json sorts keys).
Value from_json(const nlohmann::json& j, bool untrusted);
Value from_json(const nlohmann::ordered_json& j, bool untrusted);

struct JsonOptions {
  bool ensure_ascii = false;
  int indent = -1;  // < 0: none
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
// json.dumps(v) with Python's formatting; strings keep their provenance.
Text to_json(const Value& v, const JsonOptions& options);

// UTF-8 helpers shared by filters and methods.
std::vector<std::string_view> utf8_chars(std::string_view s);
std::size_t utf8_length(std::string_view s);

}  // namespace pensieve::jinja
