// Helpers that copy a fixture's parsed GGUF contents and edit them in memory, to test how the
// model module reacts to missing or inconsistent metadata and tensors.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "gguf/reader.hpp"
#include "support/derived_fixtures.hpp"

namespace pensieve::model::testing {

inline const std::string kModels = std::string(PENSIEVE_FIXTURES) + "/models/";

// The fixture model `name` ("llama-f32.gguf"), derived at test time where it is one.
inline std::string model_path(const std::string& name) {
  return ::pensieve::testing::fixture_path("models/" + name);
}

inline gguf::File open_fixture(const std::string& name) {
  auto file = gguf::File::open(model_path(name));
  if (!file) throw std::runtime_error(file.error().message);
  return std::move(*file);
}

// `key` must outlive the contents (string literals do).
inline void set_metadata(gguf::Contents& c, std::string_view key, gguf::Value value) {
  for (auto& entry : c.metadata) {
    if (entry.key == key) {
      entry.value = std::move(value);
      return;
    }
  }
  c.metadata.push_back({key, std::move(value)});
}

inline void erase_metadata(gguf::Contents& c, std::string_view key) {
  std::erase_if(c.metadata, [&](const gguf::MetadataEntry& e) { return e.key == key; });
}

inline void erase_tensor(gguf::Contents& c, std::string_view name) {
  std::erase_if(c.tensors, [&](const gguf::TensorInfo& t) { return t.name == name; });
}

inline gguf::TensorInfo& tensor_named(gguf::Contents& c, std::string_view name) {
  for (auto& t : c.tensors) {
    if (t.name == name) return t;
  }
  throw std::runtime_error("no tensor " + std::string(name));
}

inline gguf::Value uint_value(std::uint64_t v) {
  return {gguf::ValueType::kUInt32, v};
}
inline gguf::Value float_value(double v) {
  return {gguf::ValueType::kFloat32, v};
}
inline gguf::Value string_value(std::string_view v) {
  return {gguf::ValueType::kString, v};
}

}  // namespace pensieve::model::testing
