// tools/gguf_corpus/raw_gguf: writes GGUF bytes field by field, with no checks at all, so tests
// and the corpus generator can build files no honest writer would produce.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace pensieve::gguf::hostile {

class RawGguf {
 public:
  template <typename T>
  RawGguf& put(T v) {
    const std::size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
    return *this;
  }
  RawGguf& u8(std::uint8_t v) { return put(v); }
  RawGguf& u32(std::uint32_t v) { return put(v); }
  RawGguf& u64(std::uint64_t v) { return put(v); }
  RawGguf& text(std::string_view s) {
    // resize + memcpy rather than insert: g++ 12 misreports insert into an empty vector (-Wstringop-overflow).
    const std::size_t at = bytes.size();
    bytes.resize(at + s.size());
    if (!s.empty()) std::memcpy(bytes.data() + at, s.data(), s.size());
    return *this;
  }
  RawGguf& str(std::string_view s) { return u64(s.size()).text(s); }
  RawGguf& zeros(std::size_t n) {
    bytes.resize(bytes.size() + n, 0);
    return *this;
  }
  RawGguf& pad_to(std::size_t alignment) {
    bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0);
    return *this;
  }

  // "GGUF", version, tensor count, metadata count.
  RawGguf& header(std::uint64_t n_tensors, std::uint64_t n_kv, std::uint32_t version = 3) {
    return text("GGUF").u32(version).u64(n_tensors).u64(n_kv);
  }
  RawGguf& kv_u32(std::string_view key, std::uint32_t v) { return str(key).u32(4).u32(v); }
  RawGguf& kv_string(std::string_view key, std::string_view v) { return str(key).u32(8).str(v); }
  // A tensor info: name, dimension count, dims, type id, data offset.
  RawGguf& tensor(std::string_view name, std::vector<std::uint64_t> dims, std::uint32_t type, std::uint64_t offset) {
    str(name).u32(static_cast<std::uint32_t>(dims.size()));
    for (auto d : dims) u64(d);
    return u32(type).u64(offset);
  }

  std::vector<std::uint8_t> bytes;
};

}  // namespace pensieve::gguf::hostile
