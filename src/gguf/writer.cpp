#include "gguf/writer.hpp"

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

#include "gguf/reader.hpp"
#include "tensor/quantize.hpp"

namespace pensieve::gguf {
namespace {

template <typename T>
void append(std::vector<std::uint8_t>& out, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &value, sizeof(T));
}

void append_string(std::vector<std::uint8_t>& out, std::string_view s) {
  append<std::uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

std::uint64_t align_up(std::uint64_t n, std::uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

template <typename T>
constexpr ValueType value_type_of() {
  if constexpr (std::is_same_v<T, bool>) return ValueType::kBool;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return ValueType::kUInt8;
  else if constexpr (std::is_same_v<T, std::int8_t>) return ValueType::kInt8;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return ValueType::kUInt16;
  else if constexpr (std::is_same_v<T, std::int16_t>) return ValueType::kInt16;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return ValueType::kUInt32;
  else if constexpr (std::is_same_v<T, std::int32_t>) return ValueType::kInt32;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return ValueType::kUInt64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return ValueType::kInt64;
  else if constexpr (std::is_same_v<T, float>) return ValueType::kFloat32;
  else {
    static_assert(std::is_same_v<T, double>, "not a GGUF scalar type");
    return ValueType::kFloat64;
  }
}

Error invalid(std::string_view key, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "gguf writer: '" + std::string(key) + "': " + what);
}

template <typename T>
Status append_integer(std::vector<std::uint8_t>& out, const Value& v, std::string_view key) {
  if constexpr (std::is_signed_v<T>) {
    const auto i = v.as_int();
    if (!i || *i < std::numeric_limits<T>::min() || *i > std::numeric_limits<T>::max()) {
      return invalid(key, "value does not fit " + std::string(name_of(v.type)));
    }
    append<T>(out, static_cast<T>(*i));
  } else {
    const auto u = v.as_uint();
    if (!u || *u > std::numeric_limits<T>::max()) return invalid(key, "value does not fit " + std::string(name_of(v.type)));
    append<T>(out, static_cast<T>(*u));
  }
  return {};
}

// Encodes the payload of `v` (no type tag) as its declared type.
Status append_payload(std::vector<std::uint8_t>& out, const Value& v, std::string_view key, std::uint32_t depth) {
  switch (v.type) {
    case ValueType::kUInt8: return append_integer<std::uint8_t>(out, v, key);
    case ValueType::kInt8: return append_integer<std::int8_t>(out, v, key);
    case ValueType::kUInt16: return append_integer<std::uint16_t>(out, v, key);
    case ValueType::kInt16: return append_integer<std::int16_t>(out, v, key);
    case ValueType::kUInt32: return append_integer<std::uint32_t>(out, v, key);
    case ValueType::kInt32: return append_integer<std::int32_t>(out, v, key);
    case ValueType::kUInt64: return append_integer<std::uint64_t>(out, v, key);
    case ValueType::kInt64: return append_integer<std::int64_t>(out, v, key);
    case ValueType::kFloat32:
    case ValueType::kFloat64: {
      const auto* d = std::get_if<double>(&v.data);
      if (d == nullptr) return invalid(key, "a float value must hold a double");
      if (v.type == ValueType::kFloat32) append<float>(out, static_cast<float>(*d));
      else append<double>(out, *d);
      return {};
    }
    case ValueType::kBool: {
      const auto b = v.as_bool();
      if (!b) return invalid(key, "a bool value must hold a bool");
      append<std::uint8_t>(out, *b ? 1 : 0);
      return {};
    }
    case ValueType::kString: {
      const auto s = v.as_string();
      if (!s) return invalid(key, "a string value must hold a string");
      append_string(out, *s);
      return {};
    }
    case ValueType::kArray: {
      const ArrayValue* a = v.as_array();
      if (a == nullptr) return invalid(key, "an array value must hold an array");
      if (depth >= kMaxArrayDepth) return invalid(key, "arrays nested too deep for readers");
      if (!is_valid_value_type(static_cast<std::uint32_t>(a->element_type))) return invalid(key, "bad element type");
      append<std::uint32_t>(out, static_cast<std::uint32_t>(a->element_type));
      append<std::uint64_t>(out, a->items.size());
      for (const Value& item : a->items) {
        if (item.type != a->element_type) {
          return invalid(key, "array of " + std::string(name_of(a->element_type)) + " holds a " +
                                  std::string(name_of(item.type)));
        }
        PENSIEVE_TRY(append_payload(out, item, key, depth + 1));
      }
      return {};
    }
  }
  return invalid(key, "unknown value type");
}

}  // namespace

Status Writer::begin_key(std::string_view key, ValueType type) {
  if (!keys_.insert(std::string(key)).second) return invalid(key, "duplicate metadata key");
  append_string(metadata_, key);
  append<std::uint32_t>(metadata_, static_cast<std::uint32_t>(type));
  ++metadata_count_;
  return {};
}

Status Writer::check_alignment_key(std::string_view key, const Value& value) {
  if (key != "general.alignment") return {};
  const auto a = value.as_uint();
  if (value.type == ValueType::kArray || value.type == ValueType::kBool || !a || *a == 0 || *a > (1u << 16) ||
      (*a & (*a - 1)) != 0) {
    return invalid(key, "must be a power of two up to 65536");
  }
  alignment_ = static_cast<std::uint32_t>(*a);
  return {};
}

Status Writer::add_value(std::string_view key, const Value& value) {
  PENSIEVE_TRY(check_alignment_key(key, value));
  if (keys_.count(std::string(key)) != 0) return invalid(key, "duplicate metadata key");
  // Encode into a scratch buffer first so a bad value leaves the writer unchanged.
  std::vector<std::uint8_t> payload;
  PENSIEVE_TRY(append_payload(payload, value, key, 0));
  PENSIEVE_TRY(begin_key(key, value.type));
  metadata_.insert(metadata_.end(), payload.begin(), payload.end());
  return {};
}

Status Writer::add_uint8(std::string_view key, std::uint8_t v) { return add_value(key, {ValueType::kUInt8, std::uint64_t{v}}); }
Status Writer::add_int8(std::string_view key, std::int8_t v) { return add_value(key, {ValueType::kInt8, std::int64_t{v}}); }
Status Writer::add_uint16(std::string_view key, std::uint16_t v) { return add_value(key, {ValueType::kUInt16, std::uint64_t{v}}); }
Status Writer::add_int16(std::string_view key, std::int16_t v) { return add_value(key, {ValueType::kInt16, std::int64_t{v}}); }
Status Writer::add_uint32(std::string_view key, std::uint32_t v) { return add_value(key, {ValueType::kUInt32, std::uint64_t{v}}); }
Status Writer::add_int32(std::string_view key, std::int32_t v) { return add_value(key, {ValueType::kInt32, std::int64_t{v}}); }
Status Writer::add_uint64(std::string_view key, std::uint64_t v) { return add_value(key, {ValueType::kUInt64, v}); }
Status Writer::add_int64(std::string_view key, std::int64_t v) { return add_value(key, {ValueType::kInt64, v}); }
Status Writer::add_float32(std::string_view key, float v) { return add_value(key, {ValueType::kFloat32, double{v}}); }
Status Writer::add_float64(std::string_view key, double v) { return add_value(key, {ValueType::kFloat64, v}); }
Status Writer::add_bool(std::string_view key, bool v) { return add_value(key, {ValueType::kBool, v}); }
Status Writer::add_string(std::string_view key, std::string_view v) { return add_value(key, {ValueType::kString, v}); }

Status Writer::set_alignment(std::uint32_t alignment) { return add_uint32("general.alignment", alignment); }

template <typename T>
Status Writer::add_array(std::string_view key, std::span<const T> values) {
  if (key == "general.alignment") return invalid(key, "must be a power of two up to 65536");
  PENSIEVE_TRY(begin_key(key, ValueType::kArray));
  append<std::uint32_t>(metadata_, static_cast<std::uint32_t>(value_type_of<T>()));
  append<std::uint64_t>(metadata_, values.size());
  if constexpr (std::is_same_v<T, bool>) {
    for (bool b : values) metadata_.push_back(b ? 1 : 0);
  } else {
    const std::size_t at = metadata_.size();
    metadata_.resize(at + values.size_bytes());
    if (!values.empty()) std::memcpy(metadata_.data() + at, values.data(), values.size_bytes());
  }
  return {};
}

template Status Writer::add_array<bool>(std::string_view, std::span<const bool>);
template Status Writer::add_array<std::uint8_t>(std::string_view, std::span<const std::uint8_t>);
template Status Writer::add_array<std::int8_t>(std::string_view, std::span<const std::int8_t>);
template Status Writer::add_array<std::uint16_t>(std::string_view, std::span<const std::uint16_t>);
template Status Writer::add_array<std::int16_t>(std::string_view, std::span<const std::int16_t>);
template Status Writer::add_array<std::uint32_t>(std::string_view, std::span<const std::uint32_t>);
template Status Writer::add_array<std::int32_t>(std::string_view, std::span<const std::int32_t>);
template Status Writer::add_array<std::uint64_t>(std::string_view, std::span<const std::uint64_t>);
template Status Writer::add_array<std::int64_t>(std::string_view, std::span<const std::int64_t>);
template Status Writer::add_array<float>(std::string_view, std::span<const float>);
template Status Writer::add_array<double>(std::string_view, std::span<const double>);

namespace {
template <typename S>
void append_strings(std::vector<std::uint8_t>& out, std::span<const S> values) {
  std::size_t total = 12;
  for (const auto& s : values) total += 8 + s.size();
  out.reserve(out.size() + total);
  append<std::uint32_t>(out, static_cast<std::uint32_t>(ValueType::kString));
  append<std::uint64_t>(out, values.size());
  for (const auto& s : values) append_string(out, s);
}
}  // namespace

Status Writer::add_string_array(std::string_view key, std::span<const std::string> values) {
  if (key == "general.alignment") return invalid(key, "must be a power of two up to 65536");
  PENSIEVE_TRY(begin_key(key, ValueType::kArray));
  append_strings(metadata_, values);
  return {};
}

Status Writer::add_string_array(std::string_view key, std::span<const std::string_view> values) {
  if (key == "general.alignment") return invalid(key, "must be a power of two up to 65536");
  PENSIEVE_TRY(begin_key(key, ValueType::kArray));
  append_strings(metadata_, values);
  return {};
}

Result<Writer::PendingTensor*> Writer::begin_tensor(std::string_view name, tensor::TensorType type,
                                                    std::span<const std::uint64_t> dims) {
  if (tensor_names_.count(std::string(name)) != 0) return invalid(name, "duplicate tensor name");
  if (dims.empty() || dims.size() > kMaxDims) return invalid(name, "a tensor has 1 to 4 dimensions");
  std::uint64_t elements = 1;
  for (std::uint64_t d : dims) {
    if (d == 0 || elements > (std::uint64_t{1} << 48) / d) return invalid(name, "a dimension is zero or too large");
    elements *= d;
  }
  const auto& traits = tensor::traits_of(type);
  if (dims[0] % traits.block_size != 0) {
    return invalid(name, "row length " + std::to_string(dims[0]) + " is not a multiple of the " +
                             std::string(traits.name) + " block size " + std::to_string(traits.block_size));
  }
  tensor_names_.insert(std::string(name));
  PendingTensor& t = tensors_.emplace_back();
  t.name = std::string(name);
  t.type = type;
  t.dims.assign(dims.begin(), dims.end());
  t.size = *tensor::bytes_for(type, elements);
  return &t;
}

Status Writer::add_tensor(std::string_view name, tensor::TensorType type, std::span<const std::uint64_t> dims,
                          std::span<const std::uint8_t> bytes) {
  PENSIEVE_TRY(add_tensor_view(name, type, dims, bytes));
  PendingTensor& t = tensors_.back();
  t.owned.assign(bytes.begin(), bytes.end());
  t.view = {};
  return {};
}

Status Writer::add_tensor_view(std::string_view name, tensor::TensorType type, std::span<const std::uint64_t> dims,
                               std::span<const std::uint8_t> bytes) {
  auto t = begin_tensor(name, type, dims);
  if (!t) return t.error();
  if (bytes.size() != (*t)->size) {
    const std::uint64_t want = (*t)->size;
    tensor_names_.erase((*t)->name);
    tensors_.pop_back();
    return invalid(name, std::to_string(bytes.size()) + " bytes given, the shape and type need " + std::to_string(want));
  }
  (*t)->view = bytes;
  return {};
}

Status Writer::add_tensor_from_floats(std::string_view name, tensor::TensorType type,
                                      std::span<const std::uint64_t> dims, std::span<const float> values) {
  if (!tensor::can_quantize(type)) {
    return invalid(name, "no reference quantizer for " + std::string(tensor::name_of(type)));
  }
  auto t = begin_tensor(name, type, dims);
  if (!t) return t.error();
  const std::uint64_t elements = (*t)->size / tensor::traits_of(type).block_bytes * tensor::traits_of(type).block_size;
  if (values.size() != elements) {
    tensor_names_.erase((*t)->name);
    tensors_.pop_back();
    return invalid(name, std::to_string(values.size()) + " values given, the shape has " + std::to_string(elements));
  }
  (*t)->owned.resize((*t)->size);
  tensor::quantize(type, values.data(), (*t)->owned.data(), values.size());
  return {};
}

Status Writer::add_tensor_fill(std::string_view name, tensor::TensorType type, std::span<const std::uint64_t> dims,
                               FillFn fill) {
  if (!fill) return invalid(name, "no fill function");
  auto t = begin_tensor(name, type, dims);
  if (!t) return t.error();
  (*t)->fill = std::move(fill);
  return {};
}

Status Writer::add_tensor_rows(std::string_view name, tensor::TensorType type,
                               std::span<const std::uint64_t> dims, RowFillFn fill) {
  if (!fill) return invalid(name, "no fill function");
  auto t = begin_tensor(name, type, dims);
  if (!t) return t.error();
  (*t)->row_fill = std::move(fill);
  (*t)->row_bytes = *tensor::bytes_for(type, dims[0]);  // begin_tensor checked dims[0] is whole blocks
  return {};
}

std::uint64_t Writer::header_and_infos_size() const {
  std::uint64_t n = 4 + 4 + 8 + 8 + metadata_.size();
  for (const auto& t : tensors_) n += 8 + t.name.size() + 4 + 8 * t.dims.size() + 4 + 8;
  return n;
}

std::uint64_t Writer::file_size() const {
  std::uint64_t n = align_up(header_and_infos_size(), alignment_);
  for (const auto& t : tensors_) n += align_up(t.size, alignment_);
  return n;
}

std::vector<std::uint8_t> Writer::encode_head() const {
  std::vector<std::uint8_t> head;
  head.reserve(header_and_infos_size() + alignment_);
  append<std::uint32_t>(head, kMagic);
  append<std::uint32_t>(head, 3);
  append<std::uint64_t>(head, tensors_.size());
  append<std::uint64_t>(head, metadata_count_);
  head.insert(head.end(), metadata_.begin(), metadata_.end());
  std::uint64_t offset = 0;
  for (const auto& t : tensors_) {
    append_string(head, t.name);
    append<std::uint32_t>(head, static_cast<std::uint32_t>(t.dims.size()));
    for (std::uint64_t d : t.dims) append<std::uint64_t>(head, d);
    append<std::uint32_t>(head, static_cast<std::uint32_t>(t.type));
    append<std::uint64_t>(head, offset);
    offset += align_up(t.size, alignment_);
  }
  head.resize(align_up(head.size(), alignment_), 0);
  return head;
}

void Writer::produce(const PendingTensor& t, std::span<std::uint8_t> out) const {
  if (t.row_fill) {
    t.row_fill(0, out);
  } else if (t.fill) {
    t.fill(out);
  } else {
    const std::span<const std::uint8_t> bytes = t.owned.empty() ? t.view : std::span<const std::uint8_t>(t.owned);
    std::memcpy(out.data(), bytes.data(), bytes.size());
  }
}

Result<std::vector<std::uint8_t>> Writer::to_bytes() const {
  // Tensors are produced straight into the output, so a large model is built in one buffer.
  std::vector<std::uint8_t> out = encode_head();
  std::uint64_t at = out.size();
  out.resize(file_size(), 0);
  for (const auto& t : tensors_) {
    produce(t, std::span<std::uint8_t>(out).subspan(at, t.size));
    at += align_up(t.size, alignment_);
  }
  return out;
}

Status Writer::write_file(const std::string& path) const {
  // Written beside the target and renamed into place, so a reader never sees half a file.
  const std::string temp = path + ".partial";
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(temp.c_str(), "wb"), &std::fclose);
  if (!file) return make_error(ErrorCode::kIo, "cannot create " + temp + ": " + std::strerror(errno));
  auto put = [&file, &temp](std::span<const std::uint8_t> bytes) -> Status {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) {
      return make_error(ErrorCode::kIo, "cannot write " + temp + ": " + std::strerror(errno));
    }
    return {};
  };
  Status st = put(encode_head());
  const std::vector<std::uint8_t> zeros(alignment_, 0);
  std::vector<std::uint8_t> scratch;  // one buffer, grown to the largest fill (or row chunk)
  for (const auto& t : tensors_) {
    if (!st.ok()) break;
    if (t.row_fill) {
      // Runs of whole rows through one bounded buffer: the tensor never sits in memory whole.
      const std::uint64_t rows = t.size / t.row_bytes;
      const std::uint64_t per_chunk = std::max<std::uint64_t>(1, kRowChunkBytes / t.row_bytes);
      for (std::uint64_t first = 0; first < rows && st.ok(); first += per_chunk) {
        const std::size_t bytes = static_cast<std::size_t>(std::min(per_chunk, rows - first) * t.row_bytes);
        scratch.resize(std::max(scratch.size(), bytes));
        const std::span<std::uint8_t> out = std::span<std::uint8_t>(scratch).first(bytes);
        std::fill(out.begin(), out.end(), std::uint8_t{0});
        t.row_fill(first, out);
        st = put(out);
      }
    } else if (t.fill) {
      scratch.resize(std::max<std::size_t>(scratch.size(), t.size));
      const std::span<std::uint8_t> out = std::span<std::uint8_t>(scratch).first(t.size);
      std::fill(out.begin(), out.end(), std::uint8_t{0});
      produce(t, out);
      st = put(out);
    } else {
      st = put(t.owned.empty() ? t.view : std::span<const std::uint8_t>(t.owned));
    }
    if (st.ok()) st = put(std::span<const std::uint8_t>(zeros).first(align_up(t.size, alignment_) - t.size));
  }
  const bool closed = std::fclose(file.release()) == 0;
  if (st.ok() && !closed) st = make_error(ErrorCode::kIo, "cannot write " + temp + ": " + std::strerror(errno));
  if (st.ok() && std::rename(temp.c_str(), path.c_str()) != 0) {
    st = make_error(ErrorCode::kIo, "cannot rename " + temp + " to " + path + ": " + std::strerror(errno));
  }
  if (!st.ok()) std::remove(temp.c_str());
  return st;
}

}  // namespace pensieve::gguf
