// gguf/reader: parses a GGUF (v2, v3) image with every count, length and offset checked
// against the bytes actually present, so a broken or hostile file yields an Error that names
// the key or tensor and the byte offset, never a crash, hang or huge allocation.
//
// Rejected as malformed: bad magic, counts that cannot fit in the file, strings or arrays past the
// end, unknown value types, bools other than 0/1, arrays nested deeper than kMaxArrayDepth,
// duplicate keys or tensor names, a general.alignment that is not a power of two, tensors with 0
// or more than 4 dimensions, a zero dimension, more than 2^48 elements, rows not a whole number of
// blocks, data offsets that are unaligned, past the end of the file or overlapping another tensor.
// Tensor types unknown to tensor/type.hpp are reported as unsupported.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.hpp"
#include "core/result.hpp"
#include "gguf/value.hpp"
#include "tensor/type.hpp"

namespace pensieve::gguf {

inline constexpr std::uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
inline constexpr std::uint32_t kDefaultAlignment = 32;
inline constexpr std::uint32_t kMaxDims = 4;
inline constexpr std::uint32_t kMaxArrayDepth = 8;
// Decoded array items across all metadata. Each item costs a Value (~48 bytes) however few bytes it
// took in the file, so this caps what a hostile file can make us allocate (about 200 MB); real
// vocabularies (tokens, scores, types and merges of a 256k vocabulary) use about a quarter of it.
inline constexpr std::uint64_t kMaxMetadataItems = std::uint64_t{1} << 22;

struct MetadataEntry {
  std::string_view key;
  Value value;
};

struct TensorInfo {
  std::string_view name;
  std::uint32_t n_dims = 0;
  // dims[0] is the innermost (row) length, as in ggml; unused dims are 1.
  std::array<std::uint64_t, kMaxDims> dims{1, 1, 1, 1};
  tensor::TensorType type = tensor::TensorType::kF32;
  std::uint64_t offset = 0;       // relative to the start of the data section
  std::uint64_t element_count = 0;
  std::span<const std::uint8_t> data;  // exactly the tensor's bytes

  std::uint64_t row_length() const { return dims[0]; }
  std::uint64_t row_count() const { return element_count / dims[0]; }
};

// The parsed structure of a GGUF image; views point into the bytes it was parsed from.
class Contents {
 public:
  std::uint32_t version = 0;
  std::uint32_t alignment = kDefaultAlignment;
  std::uint64_t data_offset = 0;  // where the data section starts in the image
  std::vector<MetadataEntry> metadata;
  std::vector<TensorInfo> tensors;

  const Value* find(std::string_view key) const;
  const TensorInfo* find_tensor(std::string_view name) const;

  // Typed look-ups: nullopt when the key is absent; an Error when present with a wrong type.
  Result<std::optional<std::uint64_t>> get_uint(std::string_view key) const;
  Result<std::optional<double>> get_float(std::string_view key) const;
  Result<std::optional<bool>> get_bool(std::string_view key) const;
  Result<std::optional<std::string_view>> get_string(std::string_view key) const;
  Result<const ArrayValue*> get_array(std::string_view key) const;  // nullptr when absent
};

Result<Contents> parse(std::span<const std::uint8_t> image);

// A GGUF file mapped into memory and parsed.
class File {
 public:
  static Result<File> open(const std::string& path);

  const Contents& contents() const { return contents_; }
  const Contents* operator->() const { return &contents_; }
  const std::string& path() const { return map_.path(); }
  std::size_t file_size() const { return map_.size(); }

 private:
  MappedFile map_;
  Contents contents_;
};

}  // namespace pensieve::gguf
