// gguf/writer: builds GGUF v3 files (test models, synthetic fixtures, rewritten models).
//
// Metadata is encoded as it is added, so callers need not keep strings alive and a vocabulary of
// 150k strings costs one append each. Tensor data can be copied in, referenced (the caller keeps it
// alive until the write), quantized from floats, or produced by a callback at write time so a
// large model never has to sit in memory twice; a row callback is called over bounded runs of rows,
// so even a tensor larger than memory streams to disk. The writer refuses what the reader would refuse:
// duplicate keys or names, bad shapes, sizes that do not match the type.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/result.hpp"
#include "gguf/value.hpp"
#include "tensor/type.hpp"

namespace pensieve::gguf {

class Writer {
 public:
  // Fills exactly the tensor's bytes (bytes_for(type, elements)) when the file is written.
  using FillFn = std::function<void(std::span<std::uint8_t> out)>;
  // Fills whole rows: `out` holds the packed rows first_row, first_row + 1, … (as many as fit).
  using RowFillFn = std::function<void(std::uint64_t first_row, std::span<std::uint8_t> out)>;
  // write_file() hands a row callback runs of rows of about this many bytes (at least one row).
  static constexpr std::uint64_t kRowChunkBytes = std::uint64_t{64} << 20;

  // --- metadata (each key once) ---
  Status add_uint8(std::string_view key, std::uint8_t v);
  Status add_int8(std::string_view key, std::int8_t v);
  Status add_uint16(std::string_view key, std::uint16_t v);
  Status add_int16(std::string_view key, std::int16_t v);
  Status add_uint32(std::string_view key, std::uint32_t v);
  Status add_int32(std::string_view key, std::int32_t v);
  Status add_uint64(std::string_view key, std::uint64_t v);
  Status add_int64(std::string_view key, std::int64_t v);
  Status add_float32(std::string_view key, float v);
  Status add_float64(std::string_view key, double v);
  Status add_bool(std::string_view key, bool v);
  Status add_string(std::string_view key, std::string_view v);

  // Arrays of one scalar type: T is one of the fixed-width integers, float, double or bool.
  template <typename T>
  Status add_array(std::string_view key, std::span<const T> values);
  template <typename T>
  Status add_array(std::string_view key, const std::vector<T>& values) {
    return add_array(key, std::span<const T>(values));
  }
  Status add_string_array(std::string_view key, std::span<const std::string> values);
  Status add_string_array(std::string_view key, std::span<const std::string_view> values);

  // Any value as the reader represents it, nested arrays included (e.g. copying a file's metadata).
  // Item types must match the array's element type and integers must fit their declared width.
  Status add_value(std::string_view key, const Value& value);

  // Sets general.alignment (a power of two); tensor data is placed on multiples of it. Adding the
  // general.alignment key through any other call has the same effect.
  Status set_alignment(std::uint32_t alignment);

  // --- tensors (each name once); dims[0] is the row length, as in the reader ---
  Status add_tensor(std::string_view name, tensor::TensorType type, std::span<const std::uint64_t> dims,
                    std::span<const std::uint8_t> bytes);  // copied
  Status add_tensor_view(std::string_view name, tensor::TensorType type, std::span<const std::uint64_t> dims,
                         std::span<const std::uint8_t> bytes);  // must outlive the write
  Status add_tensor_from_floats(std::string_view name, tensor::TensorType type,
                                std::span<const std::uint64_t> dims, std::span<const float> values);
  Status add_tensor_fill(std::string_view name, tensor::TensorType type, std::span<const std::uint64_t> dims,
                         FillFn fill);
  // Like add_tensor_fill, but write_file() needs only kRowChunkBytes of buffer for it.
  Status add_tensor_rows(std::string_view name, tensor::TensorType type, std::span<const std::uint64_t> dims,
                         RowFillFn fill);

  // --- output ---
  std::uint64_t file_size() const;  // exact size write_file()/to_bytes() will produce
  Result<std::vector<std::uint8_t>> to_bytes() const;
  Status write_file(const std::string& path) const;

  std::uint32_t alignment() const { return alignment_; }
  std::size_t metadata_count() const { return metadata_count_; }
  std::size_t tensor_count() const { return tensors_.size(); }

 private:
  struct PendingTensor {
    std::string name;
    tensor::TensorType type;
    std::vector<std::uint64_t> dims;
    std::uint64_t size = 0;
    std::vector<std::uint8_t> owned;      // the data, when the writer holds it
    std::span<const std::uint8_t> view;   // otherwise the caller's bytes
    FillFn fill;
    RowFillFn row_fill;
    std::uint64_t row_bytes = 0;  // bytes of one packed row (dims[0] values)
  };

  Status begin_key(std::string_view key, ValueType type);
  Result<PendingTensor*> begin_tensor(std::string_view name, tensor::TensorType type,
                                      std::span<const std::uint64_t> dims);
  Status check_alignment_key(std::string_view key, const Value& value);
  std::uint64_t header_and_infos_size() const;
  std::vector<std::uint8_t> encode_head() const;  // header, metadata, tensor infos, padding
  void produce(const PendingTensor& t, std::span<std::uint8_t> out) const;

  std::vector<std::uint8_t> metadata_;  // encoded key/value pairs
  std::size_t metadata_count_ = 0;
  std::unordered_set<std::string> keys_;
  std::vector<PendingTensor> tensors_;
  std::unordered_set<std::string> tensor_names_;
  std::uint32_t alignment_ = 32;
};

}  // namespace pensieve::gguf
