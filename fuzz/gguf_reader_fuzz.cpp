// libFuzzer harness for the GGUF reader: any byte string must parse or be refused without a crash,
// leak, overflow or undefined behaviour (ASan+UBSan), and whatever parses must be fully usable:
// every metadata value readable, every tensor's bytes in bounds and decodable, and the whole file
// re-writable by gguf::Writer into bytes that parse to the same structure.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "gguf/reader.hpp"
#include "gguf/writer.hpp"
#include "tensor/dequantize.hpp"

namespace {

using pensieve::gguf::Contents;
using pensieve::gguf::Value;

std::uint64_t walk(const Value& v) {
  std::uint64_t h = static_cast<std::uint64_t>(v.type);
  if (auto s = v.as_string()) {
    for (char c : *s) h = h * 31 + static_cast<unsigned char>(c);
  } else if (const auto* a = v.as_array()) {
    for (const Value& item : a->items) h += walk(item);
  } else if (auto f = v.as_float()) {
    h += static_cast<std::uint64_t>(*f != 0);
  } else if (auto b = v.as_bool()) {
    h += *b ? 1 : 0;
  }
  return h;
}

void check(bool condition) {
  if (!condition) std::abort();
}

void use(const Contents& c) {
  volatile std::uint64_t sink = 0;
  for (const auto& kv : c.metadata) {
    sink = sink + walk(kv.value);
    (void)c.get_uint(kv.key);
    (void)c.get_string(kv.key);
    (void)c.get_array(kv.key);
  }
  float out[512];
  for (const auto& t : c.tensors) {
    check(!t.data.empty());
    sink = sink + t.data.front() + t.data.back();
    const auto& traits = pensieve::tensor::traits_of(t.type);
    if (pensieve::tensor::can_dequantize(t.type)) {
      // First and last block: exercises the codecs on hostile bytes at the tensor's edges.
      const std::size_t n = traits.block_size;
      pensieve::tensor::dequantize(t.type, t.data.data(), out, n);
      pensieve::tensor::dequantize(t.type, t.data.data() + t.data.size() - traits.block_bytes, out, n);
      sink = sink + static_cast<std::uint64_t>(out[0] == out[0]);
    }
  }
}

void rewrite(const Contents& c) {
  pensieve::gguf::Writer w;
  for (const auto& kv : c.metadata) check(w.add_value(kv.key, kv.value).ok());
  for (const auto& t : c.tensors) {
    check(w.add_tensor_view(t.name, t.type, std::span(t.dims).first(t.n_dims), t.data).ok());
  }
  auto bytes = w.to_bytes();
  check(bytes.ok());
  auto again = pensieve::gguf::parse(*bytes);
  check(again.ok());
  check(again->metadata.size() == c.metadata.size());
  check(again->tensors.size() == c.tensors.size());
  for (std::size_t i = 0; i < c.tensors.size(); ++i) {
    check(again->tensors[i].name == c.tensors[i].name);
    check(again->tensors[i].dims == c.tensors[i].dims);
    check(again->tensors[i].type == c.tensors[i].type);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = pensieve::gguf::parse(std::span<const std::uint8_t>(data, size));
  if (!parsed.ok()) {
    check(!parsed.error().message.empty());
    return 0;
  }
  use(*parsed);
  rewrite(*parsed);
  return 0;
}
