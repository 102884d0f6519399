// Test helper: deep equality of metadata values, with a readable description of the first difference.
#pragma once

#include <cstring>
#include <string>
#include <type_traits>
#include <variant>

#include "gguf/value.hpp"

namespace pensieve::gguf::testing {

// Empty when equal, otherwise where and how `a` and `b` differ.
inline std::string value_difference(const Value& a, const Value& b, const std::string& path = "") {
  if (a.type != b.type) {
    return path + ": type " + std::string(name_of(a.type)) + " vs " + std::string(name_of(b.type));
  }
  const ArrayValue* aa = a.as_array();
  const ArrayValue* ba = b.as_array();
  if (aa != nullptr && ba != nullptr) {
    if (aa->element_type != ba->element_type) return path + ": element types differ";
    if (aa->items.size() != ba->items.size()) {
      return path + ": " + std::to_string(aa->items.size()) + " vs " + std::to_string(ba->items.size()) + " items";
    }
    for (std::size_t i = 0; i < aa->items.size(); ++i) {
      std::string d = value_difference(aa->items[i], ba->items[i], path + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
    return "";
  }
  if (aa != nullptr || ba != nullptr) return path + ": only one is an array";
  if (a.data.index() != b.data.index()) return path + ": representations differ";
  const bool same = std::visit(
      [&b](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, ArrayValue>) {
          return false;
        } else if constexpr (std::is_same_v<T, double>) {
          const double y = std::get<double>(b.data);
          return std::memcmp(&x, &y, sizeof x) == 0;  // bit-exact, NaN included
        } else {
          return x == std::get<T>(b.data);
        }
      },
      a.data);
  return same ? "" : path + ": values differ";
}

}  // namespace pensieve::gguf::testing
