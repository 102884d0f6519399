// gguf/value: a metadata value as stored in a GGUF file (scalars, strings, nested arrays).
//
// Strings are views into the mapped file, so a Value lives no longer than its gguf::File.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

namespace pensieve::gguf {

enum class ValueType : std::uint32_t {
  kUInt8 = 0,
  kInt8 = 1,
  kUInt16 = 2,
  kInt16 = 3,
  kUInt32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUInt64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

std::string_view name_of(ValueType type);
bool is_valid_value_type(std::uint32_t raw);

struct Value;

struct ArrayValue {
  ValueType element_type = ValueType::kUInt8;
  std::vector<Value> items;
};

struct Value {
  ValueType type = ValueType::kUInt8;
  // Unsigned ints widen to uint64, signed to int64, floats to double.
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string_view, ArrayValue> data;

  // Any integer type whose value fits; nullopt for other types or negatives.
  std::optional<std::uint64_t> as_uint() const;
  std::optional<std::int64_t> as_int() const;
  // Floats, and integers converted.
  std::optional<double> as_float() const;
  std::optional<bool> as_bool() const;
  std::optional<std::string_view> as_string() const;
  const ArrayValue* as_array() const;
};

}  // namespace pensieve::gguf
