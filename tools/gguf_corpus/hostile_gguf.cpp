#include "tools/gguf_corpus/hostile_gguf.hpp"

#include "tools/gguf_corpus/raw_gguf.hpp"

namespace pensieve::gguf::hostile {
namespace {

constexpr std::uint32_t kF32 = 0;
constexpr std::uint32_t kQ8_0 = 8;
constexpr std::uint32_t kTypeU8 = 0, kTypeI32 = 5, kTypeF32 = 6, kTypeBool = 7, kTypeString = 8, kTypeArray = 9,
                        kTypeU64 = 10, kTypeF64 = 12;

// A valid file with one F32 tensor of `floats` values at offset 0 and the given extra metadata.
RawGguf one_tensor_file(std::uint64_t floats = 8) {
  RawGguf f;
  f.header(1, 1).kv_string("general.architecture", "llama").tensor("w", {floats}, kF32, 0).pad_to(32);
  f.zeros(floats * 4);
  return f;
}

// `levels` arrays nested inside one another, the innermost holding one u8.
RawGguf nested_arrays(int levels) {
  RawGguf f;
  f.header(0, 1).str("nest").u32(kTypeArray);
  for (int i = 1; i < levels; ++i) f.u32(kTypeArray).u64(1);
  f.u32(kTypeU8).u64(1).u8(7);
  return f;
}

}  // namespace

std::vector<HostileFile> hostile_gguf_files() {
  std::vector<HostileFile> files;
  auto bad = [&files](std::string name, RawGguf f, std::string expect) {
    files.push_back({"bad-" + std::move(name), std::move(f.bytes), std::move(expect)});
  };
  auto ok = [&files](std::string name, RawGguf f) { files.push_back({"ok-" + std::move(name), std::move(f.bytes), ""}); };

  // --- header ---
  bad("empty", RawGguf{}, "file ends");
  bad("magic", RawGguf{}.text("GGML").u32(3).u64(0).u64(0), "bad magic");
  bad("big-endian", RawGguf{}.text("GGUF").u32(0x03000000).u64(0).u64(0), "big-endian");
  bad("version-1", RawGguf{}.header(0, 0, 1), "version 1 is not supported");
  bad("version-4", RawGguf{}.header(0, 0, 4), "version 4 is not supported");
  bad("header-truncated", RawGguf{}.text("GGUF").u32(3).u32(0), "file ends");
  bad("tensor-count-huge", RawGguf{}.header(std::uint64_t{1} << 63, 0), "tensor count");
  bad("metadata-count-huge", RawGguf{}.header(0, ~std::uint64_t{0}), "metadata count");
  bad("metadata-count-past-eof", RawGguf{}.header(0, 5).kv_u32("a", 1).kv_u32("b", 2).kv_u32("c", 3).kv_u32("d", 4),
      "file ends");

  // --- metadata ---
  bad("key-length-past-eof", RawGguf{}.header(0, 1).u64(std::uint64_t{1} << 40).text("k").zeros(8),
      "runs past the end");
  bad("key-length-max", RawGguf{}.header(0, 1).u64(~std::uint64_t{0}).zeros(16), "runs past the end");
  bad("string-length-past-eof", RawGguf{}.header(0, 1).str("k").u32(kTypeString).u64(1000).text("short"),
      "runs past the end");
  bad("value-type-unknown", RawGguf{}.header(0, 1).str("k").u32(13).u32(0), "unknown value type 13");
  bad("value-type-huge", RawGguf{}.header(0, 1).str("k").u32(0xffffffff).u32(0), "unknown value type");
  bad("value-truncated", RawGguf{}.header(0, 1).str("k").u32(kTypeU64).u32(0), "file ends");
  bad("bool-not-0-or-1", RawGguf{}.header(0, 1).str("flag").u32(kTypeBool).u8(2), "neither 0 nor 1");
  bad("bool-in-array", RawGguf{}.header(0, 1).str("flags").u32(kTypeArray).u32(kTypeBool).u64(3).u8(1).u8(0).u8(255),
      "neither 0 nor 1");
  bad("duplicate-key", RawGguf{}.header(0, 2).kv_u32("general.alignment", 32).kv_u32("general.alignment", 64),
      "duplicate key");
  bad("array-element-type-unknown", RawGguf{}.header(0, 1).str("a").u32(kTypeArray).u32(99).u64(0),
      "unknown array element type");
  bad("array-count-huge", RawGguf{}.header(0, 1).str("a").u32(kTypeArray).u32(kTypeU8).u64(std::uint64_t{1} << 62),
      "cannot fit");
  bad("array-of-u64-past-eof", RawGguf{}.header(0, 1).str("a").u32(kTypeArray).u32(kTypeU64).u64(4).u64(1).u64(2),
      "cannot fit");
  bad("string-array-count-huge",
      RawGguf{}.header(0, 1).str("tokenizer.ggml.tokens").u32(kTypeArray).u32(kTypeString).u64(~std::uint64_t{0} / 2),
      "cannot fit");
  bad("string-in-array-past-eof",
      RawGguf{}.header(0, 1).str("tokens").u32(kTypeArray).u32(kTypeString).u64(2).str("a").u64(1 << 20).text("b"),
      "runs past the end");
  bad("array-depth-bomb", nested_arrays(1000), "nested deeper than");
  bad("array-depth-9", nested_arrays(9), "nested deeper than");
  ok("array-depth-8", nested_arrays(8));

  // --- general.alignment ---
  auto aligned = [](const RawGguf& kv) {
    RawGguf f;
    f.header(0, 1);
    f.bytes.insert(f.bytes.end(), kv.bytes.begin(), kv.bytes.end());
    return f;
  };
  bad("alignment-not-power-of-two", aligned(RawGguf{}.kv_u32("general.alignment", 48)), "power of two");
  bad("alignment-zero", aligned(RawGguf{}.kv_u32("general.alignment", 0)), "power of two");
  bad("alignment-huge", aligned(RawGguf{}.kv_u32("general.alignment", 1u << 31)), "power of two");
  bad("alignment-string", aligned(RawGguf{}.kv_string("general.alignment", "32")), "power of two");
  bad("alignment-negative", aligned(RawGguf{}.str("general.alignment").u32(kTypeI32).u32(0xffffffe0)), "power of two");
  bad("alignment-float", aligned(RawGguf{}.str("general.alignment").u32(kTypeF32).put(32.0f)), "power of two");

  // --- tensor infos ---
  bad("tensor-name-past-eof", RawGguf{}.header(1, 0).u64(1 << 30).text("w").zeros(40), "runs past the end");
  bad("tensor-dims-zero-count", RawGguf{}.header(1, 0).tensor("w", {}, kF32, 0).zeros(64), "dimensions (1 to 4");
  bad("tensor-dims-five", RawGguf{}.header(1, 0).tensor("w", {1, 1, 1, 1, 1}, kF32, 0).zeros(64), "dimensions (1 to 4");
  bad("tensor-dims-count-huge", RawGguf{}.header(1, 0).str("w").u32(0xffffffff).zeros(64), "dimensions (1 to 4");
  bad("tensor-dim-zero", RawGguf{}.header(1, 0).tensor("w", {8, 0}, kF32, 0).zeros(64), "is zero or makes");
  bad("tensor-dims-overflow", RawGguf{}.header(1, 0).tensor("w", {1ull << 32, 1ull << 32}, kF32, 0).zeros(64),
      "is zero or makes");
  bad("tensor-dims-overflow-wrap", RawGguf{}.header(1, 0).tensor("w", {1ull << 63, 2, 1, 1}, kF32, 0).zeros(64),
      "is zero or makes");
  bad("tensor-elements-past-limit",
      RawGguf{}.header(1, 0).tensor("w", {1ull << 16, 1ull << 16, 1ull << 16, 2}, kF32, 0).zeros(64),
      "is zero or makes");
  bad("tensor-type-unknown", RawGguf{}.header(1, 0).tensor("w", {8}, 99, 0).zeros(64), "not a GGUF type");
  bad("tensor-type-removed", RawGguf{}.header(1, 0).tensor("w", {32}, 4, 0).zeros(64), "not a GGUF type");
  bad("tensor-type-huge", RawGguf{}.header(1, 0).tensor("w", {8}, 0x80000000u, 0).zeros(64), "not a GGUF type");
  bad("tensor-row-partial-block", RawGguf{}.header(1, 0).tensor("w", {33}, kQ8_0, 0).pad_to(32).zeros(68),
      "block size 32");
  bad("tensor-info-truncated", RawGguf{}.header(1, 0).str("w").u32(2).u64(8).u64(8).u32(kF32), "file ends");
  bad("duplicate-tensor",
      RawGguf{}.header(2, 0).tensor("w", {8}, kF32, 0).tensor("w", {8}, kF32, 32).pad_to(32).zeros(64),
      "duplicate tensor name");

  // --- tensor data ---
  bad("tensor-offset-unaligned", RawGguf{}.header(1, 0).tensor("w", {8}, kF32, 4).pad_to(32).zeros(64),
      "not a multiple of the alignment");
  bad("tensor-offset-past-eof", RawGguf{}.header(1, 0).tensor("w", {8}, kF32, 1 << 20).pad_to(32).zeros(64),
      "beyond the end");
  bad("tensor-offset-wraps", RawGguf{}.header(1, 0).tensor("w", {8}, kF32, ~std::uint64_t{31}).pad_to(32).zeros(64),
      "beyond the end");
  bad("tensor-data-past-eof", RawGguf{}.header(1, 0).tensor("w", {64}, kF32, 0).pad_to(32).zeros(100),
      "beyond the end");
  bad("tensor-size-huge", RawGguf{}.header(1, 0).tensor("w", {1ull << 24, 1ull << 24}, kF32, 0).pad_to(32).zeros(64),
      "beyond the end");
  bad("tensors-overlap",
      RawGguf{}.header(2, 0).tensor("a", {16}, kF32, 0).tensor("b", {16}, kF32, 32).pad_to(32).zeros(96),
      "overlaps tensor");
  bad("tensors-same-offset",
      RawGguf{}.header(2, 0).tensor("a", {8}, kF32, 0).tensor("b", {8}, kF32, 0).pad_to(32).zeros(32),
      "overlaps tensor");
  bad("data-section-missing", RawGguf{}.header(1, 0).tensor("w", {8}, kF32, 0), "before the data section");

  // --- odd but valid ---
  ok("header-only", RawGguf{}.header(0, 0));
  ok("version-2", RawGguf{}.header(0, 1, 2).kv_u32("general.alignment", 64));
  ok("one-tensor", one_tensor_file());
  ok("alignment-1", RawGguf{}.header(1, 1).kv_u32("general.alignment", 1).tensor("w", {2}, kF32, 0).zeros(8));
  ok("alignment-64k", RawGguf{}.header(1, 1).kv_u32("general.alignment", 1 << 16).tensor("w", {2}, kF32, 0)
                          .pad_to(1 << 16).zeros(8));
  ok("trailing-bytes", one_tensor_file().zeros(1000));
  ok("tensor-gap", RawGguf{}.header(2, 0).tensor("a", {8}, kF32, 0).tensor("b", {8}, kF32, 96).pad_to(32).zeros(128));
  ok("empty-key-and-values", RawGguf{}.header(0, 3).kv_string("", "").str("e").u32(kTypeArray).u32(kTypeU8).u64(0)
                                 .str("s").u32(kTypeArray).u32(kTypeString).u64(2).str("").str("x"));
  ok("every-value-type", RawGguf{}.header(0, 13)
                             .str("u8").u32(0).u8(1).str("i8").u32(1).u8(0xff).str("u16").u32(2).put<std::uint16_t>(2)
                             .str("i16").u32(3).put<std::int16_t>(-2).str("u32").u32(4).u32(3).str("i32").u32(5).u32(7)
                             .str("f32").u32(6).put(1.5f).str("bool").u32(7).u8(1).str("str").u32(8).str("s")
                             .str("arr").u32(9).u32(kTypeF64).u64(1).put(2.5).str("u64").u32(10).u64(9)
                             .str("i64").u32(11).u64(~std::uint64_t{0}).str("f64").u32(12).put(-0.0));
  return files;
}

}  // namespace pensieve::gguf::hostile
