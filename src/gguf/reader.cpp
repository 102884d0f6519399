#include "gguf/reader.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_set>

#include "core/printable.hpp"

namespace pensieve::gguf {
namespace {

// Reads little-endian primitives from a span, failing rather than running past its end.
class Cursor {
 public:
  explicit Cursor(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::uint64_t offset() const { return pos_; }
  std::uint64_t remaining() const { return bytes_.size() - pos_; }

  template <typename T>
  Result<T> read(std::string_view what) {
    if (remaining() < sizeof(T)) return truncated(what, sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  Result<std::string_view> read_string(std::string_view what) {
    const std::uint64_t at = pos_;
    auto len = read<std::uint64_t>(what);
    if (!len) return len.error();
    if (*len > remaining()) {
      return make_error(ErrorCode::kInvalidFormat,
                        std::string(what) + ": string length " + std::to_string(*len) + " at byte " +
                            std::to_string(at) + " runs past the end of the file (" +
                            std::to_string(remaining()) + " bytes left)");
    }
    std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), *len);
    pos_ += *len;
    return s;
  }

  Error truncated(std::string_view what, std::uint64_t need) const {
    return make_error(ErrorCode::kInvalidFormat,
                      std::string(what) + ": file ends at byte " + std::to_string(bytes_.size()) +
                          ", needed " + std::to_string(need) + " more bytes at byte " + std::to_string(pos_));
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::uint64_t pos_ = 0;
};

// The fewest bytes one element of this type can occupy, used to bound counts before allocating.
std::uint64_t min_encoded_size(ValueType type) {
  switch (type) {
    case ValueType::kUInt8: case ValueType::kInt8: case ValueType::kBool: return 1;
    case ValueType::kUInt16: case ValueType::kInt16: return 2;
    case ValueType::kUInt32: case ValueType::kInt32: case ValueType::kFloat32: return 4;
    case ValueType::kUInt64: case ValueType::kInt64: case ValueType::kFloat64: return 8;
    case ValueType::kString: return 8;
    case ValueType::kArray: return 12;
  }
  return 1;
}

Error format_error(const std::string& where, std::uint64_t offset, const std::string& what) {
  return make_error(ErrorCode::kInvalidFormat, where + " (at byte " + std::to_string(offset) + "): " + what);
}

// What one metadata walk may still spend; shared by every nested array.
struct Budget {
  std::uint64_t items_left = kMaxMetadataItems;
};

Result<Value> read_value(Cursor& cur, ValueType type, const std::string& where, std::uint32_t depth, Budget& budget);

Result<ArrayValue> read_array(Cursor& cur, const std::string& where, std::uint32_t depth, Budget& budget) {
  if (depth >= kMaxArrayDepth) {
    return format_error(where, cur.offset(), "arrays nested deeper than " + std::to_string(kMaxArrayDepth));
  }
  const std::uint64_t at = cur.offset();
  auto raw_type = cur.read<std::uint32_t>(where + " array element type");
  if (!raw_type) return raw_type.error();
  if (!is_valid_value_type(*raw_type)) {
    return format_error(where, at, "unknown array element type " + std::to_string(*raw_type));
  }
  const auto element_type = static_cast<ValueType>(*raw_type);
  auto count = cur.read<std::uint64_t>(where + " array length");
  if (!count) return count.error();
  if (*count > cur.remaining() / min_encoded_size(element_type)) {
    return format_error(where, at, "array of " + std::to_string(*count) + " " +
                                       std::string(name_of(element_type)) + " cannot fit in the " +
                                       std::to_string(cur.remaining()) + " bytes left");
  }
  if (*count > budget.items_left) {
    return make_error(ErrorCode::kResourceExhausted,
                      where + " (at byte " + std::to_string(at) + "): array of " + std::to_string(*count) +
                          " items would take metadata past " + std::to_string(kMaxMetadataItems) + " items");
  }
  budget.items_left -= *count;
  ArrayValue array;
  array.element_type = element_type;
  array.items.reserve(*count);
  for (std::uint64_t i = 0; i < *count; ++i) {
    auto item = read_value(cur, element_type, where, depth + 1, budget);
    if (!item) return item.error();
    array.items.push_back(std::move(*item));
  }
  return array;
}

Result<Value> read_value(Cursor& cur, ValueType type, const std::string& where, std::uint32_t depth, Budget& budget) {
  Value v;
  v.type = type;
  auto widen = [&](auto result) -> Status {
    if (!result) return result.error();
    using T = std::decay_t<decltype(*result)>;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      v.data = static_cast<double>(*result);
    } else if constexpr (std::is_signed_v<T>) {
      v.data = static_cast<std::int64_t>(*result);
    } else {
      v.data = static_cast<std::uint64_t>(*result);
    }
    return {};
  };
  Status st;
  switch (type) {
    case ValueType::kUInt8: st = widen(cur.read<std::uint8_t>(where)); break;
    case ValueType::kInt8: st = widen(cur.read<std::int8_t>(where)); break;
    case ValueType::kUInt16: st = widen(cur.read<std::uint16_t>(where)); break;
    case ValueType::kInt16: st = widen(cur.read<std::int16_t>(where)); break;
    case ValueType::kUInt32: st = widen(cur.read<std::uint32_t>(where)); break;
    case ValueType::kInt32: st = widen(cur.read<std::int32_t>(where)); break;
    case ValueType::kUInt64: st = widen(cur.read<std::uint64_t>(where)); break;
    case ValueType::kInt64: st = widen(cur.read<std::int64_t>(where)); break;
    case ValueType::kFloat32: st = widen(cur.read<float>(where)); break;
    case ValueType::kFloat64: st = widen(cur.read<double>(where)); break;
    case ValueType::kBool: {
      const std::uint64_t at = cur.offset();
      auto b = cur.read<std::uint8_t>(where);
      if (!b) return b.error();
      if (*b > 1) return format_error(where, at, "bool value " + std::to_string(*b) + " is neither 0 nor 1");
      v.data = *b == 1;
      break;
    }
    case ValueType::kString: {
      auto s = cur.read_string(where);
      if (!s) return s.error();
      v.data = *s;
      break;
    }
    case ValueType::kArray: {
      auto a = read_array(cur, where, depth, budget);
      if (!a) return a.error();
      v.data = std::move(*a);
      break;
    }
  }
  if (!st) return st.error();
  return v;
}

Status read_metadata(Cursor& cur, std::uint64_t count, Contents& out) {
  std::unordered_set<std::string_view> seen;
  Budget budget;
  out.metadata.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t at = cur.offset();
    const std::string index = "metadata entry " + std::to_string(i);
    auto key = cur.read_string(index + " key");
    if (!key) return key.error();
    const std::string where = "metadata key '" + core::printable(*key) + "'";
    if (!seen.insert(*key).second) return format_error(where, at, "duplicate key");
    const std::uint64_t type_at = cur.offset();
    auto raw_type = cur.read<std::uint32_t>(where + " type");
    if (!raw_type) return raw_type.error();
    if (!is_valid_value_type(*raw_type)) {
      return format_error(where, type_at, "unknown value type " + std::to_string(*raw_type));
    }
    auto value = read_value(cur, static_cast<ValueType>(*raw_type), where, 0, budget);
    if (!value) return value.error();
    out.metadata.push_back({*key, std::move(*value)});
  }
  return {};
}

Status read_tensor_infos(Cursor& cur, std::uint64_t count, Contents& out) {
  std::unordered_set<std::string_view> seen;
  out.tensors.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t at = cur.offset();
    auto name = cur.read_string("tensor info " + std::to_string(i) + " name");
    if (!name) return name.error();
    const std::string where = "tensor '" + core::printable(*name) + "'";
    if (!seen.insert(*name).second) return format_error(where, at, "duplicate tensor name");
    TensorInfo info;
    info.name = *name;
    auto n_dims = cur.read<std::uint32_t>(where + " dimension count");
    if (!n_dims) return n_dims.error();
    if (*n_dims == 0 || *n_dims > kMaxDims) {
      return format_error(where, at, std::to_string(*n_dims) + " dimensions (1 to " +
                                         std::to_string(kMaxDims) + " allowed)");
    }
    info.n_dims = *n_dims;
    std::uint64_t elements = 1;
    for (std::uint32_t d = 0; d < *n_dims; ++d) {
      auto dim = cur.read<std::uint64_t>(where + " dimension");
      if (!dim) return dim.error();
      // 2^48 elements is far beyond any real tensor and keeps the products below overflow.
      constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 48;
      if (*dim == 0 || *dim > kMaxElements || elements > kMaxElements / *dim) {
        return format_error(where, at, "dimension " + std::to_string(d) + " = " + std::to_string(*dim) +
                                           " is zero or makes the tensor impossibly large");
      }
      info.dims[d] = *dim;
      elements *= *dim;
    }
    info.element_count = elements;
    const std::uint64_t type_at = cur.offset();
    auto raw_type = cur.read<std::uint32_t>(where + " type");
    if (!raw_type) return raw_type.error();
    const auto traits = tensor::traits_of(*raw_type);
    if (!traits) {
      return make_error(ErrorCode::kUnsupported, where + " (at byte " + std::to_string(type_at) +
                                                     "): tensor type " + std::to_string(*raw_type) +
                                                     " is not a GGUF type this build knows");
    }
    info.type = traits->type;
    if (info.dims[0] % traits->block_size != 0) {
      return format_error(where, type_at, "row length " + std::to_string(info.dims[0]) +
                                              " is not a multiple of the " + std::string(traits->name) +
                                              " block size " + std::to_string(traits->block_size));
    }
    auto offset = cur.read<std::uint64_t>(where + " offset");
    if (!offset) return offset.error();
    info.offset = *offset;
    out.tensors.push_back(info);
  }
  return {};
}

Status locate_tensor_data(std::span<const std::uint8_t> image, Contents& out) {
  const std::uint64_t data_size = image.size() - out.data_offset;
  for (auto& t : out.tensors) {
    const std::string where = "tensor '" + core::printable(t.name) + "'";
    if (t.offset % out.alignment != 0) {
      return make_error(ErrorCode::kInvalidFormat, where + ": data offset " + std::to_string(t.offset) +
                                                       " is not a multiple of the alignment " +
                                                       std::to_string(out.alignment));
    }
    const std::uint64_t nbytes = *tensor::bytes_for(t.type, t.element_count);
    if (t.offset > data_size || nbytes > data_size - t.offset) {
      return make_error(ErrorCode::kInvalidFormat,
                        where + ": data [" + std::to_string(out.data_offset + t.offset) + ", +" +
                            std::to_string(nbytes) + ") lies beyond the end of the file (" +
                            std::to_string(image.size()) + " bytes)");
    }
    t.data = image.subspan(out.data_offset + t.offset, nbytes);
  }
  // Two tensors sharing bytes is never produced by a writer and would let a write through one
  // (e.g. a repacked copy) corrupt another: reject it.
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(out.tensors.size());
  for (const auto& t : out.tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    const TensorInfo& next = *by_offset[i];
    if (next.offset < prev.offset + prev.data.size()) {
      return make_error(ErrorCode::kInvalidFormat, "tensor '" + core::printable(next.name) +
                                                       "': data at offset " + std::to_string(next.offset) +
                                                       " overlaps tensor '" + core::printable(prev.name) +
                                                       "' (offset " + std::to_string(prev.offset) + ", " +
                                                       std::to_string(prev.data.size()) + " bytes)");
    }
  }
  return {};
}

}  // namespace

Result<Contents> parse(std::span<const std::uint8_t> image) {
  Cursor cur(image);
  Contents out;
  auto magic = cur.read<std::uint32_t>("header magic");
  if (!magic) return magic.error();
  if (*magic != kMagic) return format_error("header", 0, "not a GGUF file (bad magic)");
  auto version = cur.read<std::uint32_t>("header version");
  if (!version) return version.error();
  if (*version == 0x02000000u || *version == 0x03000000u) {
    return format_error("header", 4, "big-endian GGUF files are not supported");
  }
  if (*version != 2 && *version != 3) {
    return format_error("header", 4, "GGUF version " + std::to_string(*version) + " is not supported (2 and 3 are)");
  }
  out.version = *version;
  auto tensor_count = cur.read<std::uint64_t>("header tensor count");
  if (!tensor_count) return tensor_count.error();
  auto kv_count = cur.read<std::uint64_t>("header metadata count");
  if (!kv_count) return kv_count.error();
  // Each tensor info takes at least 8+4+8+4+8 bytes and each entry 8+4+1: bound before reserving.
  if (*tensor_count > cur.remaining() / 32) {
    return format_error("header", 8, "tensor count " + std::to_string(*tensor_count) + " cannot fit in the file");
  }
  if (*kv_count > cur.remaining() / 13) {
    return format_error("header", 16, "metadata count " + std::to_string(*kv_count) + " cannot fit in the file");
  }
  if (auto st = read_metadata(cur, *kv_count, out); !st) return st.error();

  if (const Value* align = out.find("general.alignment")) {
    const auto a = align->as_uint();
    if (!a || *a == 0 || *a > (1u << 16) || (*a & (*a - 1)) != 0) {
      return make_error(ErrorCode::kInvalidFormat, "metadata key 'general.alignment': must be a power of two up to 65536");
    }
    out.alignment = static_cast<std::uint32_t>(*a);
  }
  if (auto st = read_tensor_infos(cur, *tensor_count, out); !st) return st.error();

  const std::uint64_t end_of_infos = cur.offset();
  out.data_offset = (end_of_infos + out.alignment - 1) / out.alignment * out.alignment;
  if (out.data_offset > image.size()) {
    if (out.tensors.empty()) {
      out.data_offset = image.size();
    } else {
      return format_error("data section", end_of_infos, "file ends before the data section starts");
    }
  }
  if (auto st = locate_tensor_data(image, out); !st) return st.error();
  return out;
}

const Value* Contents::find(std::string_view key) const {
  for (const auto& e : metadata) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

const TensorInfo* Contents::find_tensor(std::string_view name) const {
  for (const auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

namespace {
Error wrong_type(std::string_view key, const Value& v, std::string_view wanted) {
  return make_error(ErrorCode::kInvalidFormat, "metadata key '" + core::printable(key) + "' is " +
                                                   std::string(name_of(v.type)) + ", expected " +
                                                   std::string(wanted));
}
}  // namespace

Result<std::optional<std::uint64_t>> Contents::get_uint(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::optional<std::uint64_t>{};
  if (auto u = v->as_uint()) return std::optional<std::uint64_t>{*u};
  return wrong_type(key, *v, "a non-negative integer");
}

Result<std::optional<double>> Contents::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::optional<double>{};
  if (auto f = v->as_float()) return std::optional<double>{*f};
  return wrong_type(key, *v, "a number");
}

Result<std::optional<bool>> Contents::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::optional<bool>{};
  if (auto b = v->as_bool()) return std::optional<bool>{*b};
  return wrong_type(key, *v, "a bool");
}

Result<std::optional<std::string_view>> Contents::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::optional<std::string_view>{};
  if (auto s = v->as_string()) return std::optional<std::string_view>{*s};
  return wrong_type(key, *v, "a string");
}

Result<const ArrayValue*> Contents::get_array(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return static_cast<const ArrayValue*>(nullptr);
  if (const ArrayValue* a = v->as_array()) return a;
  return wrong_type(key, *v, "an array");
}

Result<File> File::open(const std::string& path) {
  auto map = MappedFile::open(path);
  if (!map) return map.error();
  auto contents = parse(map->bytes());
  if (!contents) return contents.error().with_context(path);
  File f;
  f.map_ = std::move(*map);
  f.contents_ = std::move(*contents);
  return f;
}

}  // namespace pensieve::gguf
