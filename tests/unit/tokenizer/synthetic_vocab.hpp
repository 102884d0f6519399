// tests/unit/tokenizer/synthetic_vocab: builds GGUF tokenizer metadata in memory, so a test can
// state the exact vocabulary, scores and merges whose behaviour it checks.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/reader.hpp"
#include "tokenizer/byte_level_bpe.hpp"
#include "tokenizer/unicode.hpp"

namespace pensieve::tokenizer::testing {

class SyntheticVocab {
 public:
  void set_string(std::string_view key, std::string_view value) {
    add(key, {gguf::ValueType::kString, keep(value)});
  }
  void set_uint(std::string_view key, std::uint64_t value) { add(key, {gguf::ValueType::kUInt32, value}); }
  void set_bool(std::string_view key, bool value) { add(key, {gguf::ValueType::kBool, value}); }
  void set_strings(std::string_view key, const std::vector<std::string>& values) {
    gguf::ArrayValue array{gguf::ValueType::kString, {}};
    for (const auto& v : values) array.items.push_back({gguf::ValueType::kString, keep(v)});
    add(key, {gguf::ValueType::kArray, std::move(array)});
  }
  void set_floats(std::string_view key, const std::vector<double>& values) {
    gguf::ArrayValue array{gguf::ValueType::kFloat32, {}};
    for (double v : values) array.items.push_back({gguf::ValueType::kFloat32, v});
    add(key, {gguf::ValueType::kArray, std::move(array)});
  }
  void set_ints(std::string_view key, const std::vector<std::int64_t>& values) {
    gguf::ArrayValue array{gguf::ValueType::kInt32, {}};
    for (std::int64_t v : values) array.items.push_back({gguf::ValueType::kInt32, v});
    add(key, {gguf::ValueType::kArray, std::move(array)});
  }
  void remove(std::string_view key) {
    std::erase_if(contents_.metadata, [key](const gguf::MetadataEntry& e) { return e.key == key; });
  }

  const gguf::Contents& contents() const { return contents_; }

  // The 256 byte stand-in characters of byte-level BPE, in byte order.
  static std::vector<std::string> byte_tokens() {
    std::vector<std::string> tokens;
    for (unsigned b = 0; b < 256; ++b) {
      std::string s;
      append_utf8(s, byte_to_codepoint(static_cast<std::uint8_t>(b)));
      tokens.push_back(s);
    }
    return tokens;
  }

 private:
  std::string_view keep(std::string_view s) { return strings_.emplace_back(s); }
  void add(std::string_view key, gguf::Value value) {
    remove(key);
    contents_.metadata.push_back({keep(key), std::move(value)});
  }

  std::deque<std::string> strings_;
  gguf::Contents contents_;
};

}  // namespace pensieve::tokenizer::testing
