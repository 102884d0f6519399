#include "support/derived_fixtures.hpp"

#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "gguf/reader.hpp"
#include "gguf/writer.hpp"
#include "tensor/half.hpp"

namespace pensieve::testing {
namespace {

namespace fs = std::filesystem;

struct Derivation {
  std::string_view relative;
  std::string_view source;  // under the fixtures folder
  std::string_view pre;     // the new tokenizer.ggml.pre; empty: widen F16 to F32
};

constexpr std::array<Derivation, 4> kDerived = {{
    {"vocab/ggml-vocab-gpt-2-pre-gpt2.gguf", "vocab/ggml-vocab-gpt-2.gguf", "gpt-2"},
    {"vocab/ggml-vocab-gpt-2-pre-llama3.gguf", "vocab/ggml-vocab-gpt-2.gguf", "llama-bpe"},
    {"vocab/ggml-vocab-gpt-2-pre-qwen2.gguf", "vocab/ggml-vocab-gpt-2.gguf", "qwen2"},
    {"models/llama-f32.gguf", "models/llama-f16.gguf", ""},
}};

const Derivation* find(std::string_view relative) {
  for (const Derivation& d : kDerived) {
    if (d.relative == relative) return &d;
  }
  return nullptr;
}

// Copies `source` with each metadata value as `edit_key` returns it (the original or a
// replacement) and, when `widen_f16`, every F16 tensor widened to F32. Keys and tensors keep
// their order (general.alignment included), so the layout is the one the original writer chose.
template <typename EditKey>
Status rewrite(const std::string& source, const std::string& out, EditKey edit_key, bool widen_f16) {
  auto file = gguf::File::open(source);
  if (!file) return file.error();
  const gguf::Contents& c = file->contents();
  gguf::Writer w;
  for (const auto& entry : c.metadata) {
    PENSIEVE_TRY(w.add_value(entry.key, edit_key(entry.key, entry.value)));
  }
  for (const auto& t : c.tensors) {
    const std::span<const std::uint64_t> dims(t.dims.data(), t.n_dims);
    if (!widen_f16 || t.type != tensor::TensorType::kF16) {
      PENSIEVE_TRY(w.add_tensor_view(t.name, t.type, dims, t.data));
      continue;
    }
    std::vector<float> values(t.element_count);
    for (std::size_t i = 0; i < values.size(); ++i) {
      std::uint16_t half = 0;
      std::memcpy(&half, t.data.data() + 2 * i, sizeof half);
      values[i] = tensor::fp16_to_fp32(half);
    }
    PENSIEVE_TRY(w.add_tensor_from_floats(t.name, tensor::TensorType::kF32, dims, values));
  }
  return w.write_file(out);
}

fs::file_time_type modified(const fs::path& p) {
  std::error_code ec;
  const auto t = fs::last_write_time(p, ec);
  return ec ? fs::file_time_type::min() : t;
}

// Derived copies made by an older build of this code, or from an older source, are made again.
bool up_to_date(const fs::path& derived, const fs::path& source) {
  std::error_code ec;
  if (!fs::exists(derived, ec)) return false;
  const auto made = modified(derived);
  return made >= modified(source) && made >= modified("/proc/self/exe");
}

Status derive(const Derivation& d, const std::string& source, const std::string& out) {
  if (d.pre.empty()) return write_widened_to_f32(source, out);
  return write_with_pre_tokenizer(source, d.pre, out);
}

}  // namespace

bool is_derived_fixture(std::string_view relative) {
  return find(relative) != nullptr;
}

std::string derived_fixture_source(std::string_view relative) {
  const Derivation* d = find(relative);
  if (!d) throw std::runtime_error("not a derived fixture: " + std::string(relative));
  return std::string(PENSIEVE_FIXTURES) + "/" + std::string(d->source);
}

std::string fixture_path(std::string_view relative) {
  const Derivation* d = find(relative);
  if (!d) return std::string(PENSIEVE_FIXTURES) + "/" + std::string(relative);
  static std::mutex mutex;  // one derivation at a time within a process; rename() orders processes
  const std::lock_guard lock(mutex);
  const fs::path out = fs::path(PENSIEVE_BINARY_DIR) / "derived-fixtures" / d->relative;
  const std::string source = derived_fixture_source(relative);
  if (up_to_date(out, source)) return out.string();
  fs::create_directories(out.parent_path());
  const fs::path tmp = out.string() + "." + std::to_string(::getpid()) + ".tmp";
  const Status made = derive(*d, source, tmp.string());
  if (!made.ok()) {
    fs::remove(tmp);
    throw std::runtime_error("cannot derive fixture " + std::string(relative) + ": " + made.error().message);
  }
  fs::rename(tmp, out);  // atomic: a concurrent test sees the old file or the new one
  return out.string();
}

Status write_with_metadata_value(const std::string& source, std::string_view key, const gguf::Value& value,
                                 const std::string& out) {
  return rewrite(
      source, out, [&](std::string_view k, const gguf::Value& v) { return k == key ? value : v; }, false);
}

Status write_with_pre_tokenizer(const std::string& source, std::string_view pre, const std::string& out) {
  return write_with_metadata_value(source, "tokenizer.ggml.pre", gguf::Value{gguf::ValueType::kString, pre},
                                   out);
}

Status write_widened_to_f32(const std::string& source, const std::string& out) {
  const gguf::Value all_f32{gguf::ValueType::kUInt32, std::uint64_t{0}};  // llama.cpp's LLAMA_FTYPE_ALL_F32
  return rewrite(
      source, out,
      [&](std::string_view key, const gguf::Value& v) { return key == "general.file_type" ? all_f32 : v; },
      true);
}

}  // namespace pensieve::testing
