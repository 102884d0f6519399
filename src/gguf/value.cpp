#include "gguf/value.hpp"

#include <limits>

namespace pensieve::gguf {

std::string_view name_of(ValueType type) {
  switch (type) {
    case ValueType::kUInt8: return "uint8";
    case ValueType::kInt8: return "int8";
    case ValueType::kUInt16: return "uint16";
    case ValueType::kInt16: return "int16";
    case ValueType::kUInt32: return "uint32";
    case ValueType::kInt32: return "int32";
    case ValueType::kFloat32: return "float32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kUInt64: return "uint64";
    case ValueType::kInt64: return "int64";
    case ValueType::kFloat64: return "float64";
  }
  return "unknown";
}

bool is_valid_value_type(std::uint32_t raw) { return raw <= static_cast<std::uint32_t>(ValueType::kFloat64); }

std::optional<std::uint64_t> Value::as_uint() const {
  if (const auto* u = std::get_if<std::uint64_t>(&data)) return *u;
  if (const auto* i = std::get_if<std::int64_t>(&data); i != nullptr && *i >= 0) {
    return static_cast<std::uint64_t>(*i);
  }
  return std::nullopt;
}

std::optional<std::int64_t> Value::as_int() const {
  if (const auto* i = std::get_if<std::int64_t>(&data)) return *i;
  if (const auto* u = std::get_if<std::uint64_t>(&data);
      u != nullptr && *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(*u);
  }
  return std::nullopt;
}

std::optional<double> Value::as_float() const {
  if (const auto* d = std::get_if<double>(&data)) return *d;
  if (const auto* u = std::get_if<std::uint64_t>(&data)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<std::int64_t>(&data)) return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<bool> Value::as_bool() const {
  if (const auto* b = std::get_if<bool>(&data)) return *b;
  return std::nullopt;
}

std::optional<std::string_view> Value::as_string() const {
  if (const auto* s = std::get_if<std::string_view>(&data)) return *s;
  return std::nullopt;
}

const ArrayValue* Value::as_array() const { return std::get_if<ArrayValue>(&data); }

}  // namespace pensieve::gguf
