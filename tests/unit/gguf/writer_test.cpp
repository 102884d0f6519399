#include "gguf/writer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gguf/reader.hpp"
#include "gguf/value_equal.hpp"
#include "support/derived_fixtures.hpp"
#include "tensor/dequantize.hpp"

namespace pensieve::gguf {
namespace {

using testing::value_difference;
using tensor::TensorType;
const std::string kModels = std::string(PENSIEVE_FIXTURES) + "/models";

Value array_of(ValueType element, std::vector<Value> items) {
  return {ValueType::kArray, ArrayValue{element, std::move(items)}};
}

Result<Contents> parse_bytes(const std::vector<std::uint8_t>& bytes) { return parse(bytes); }

std::vector<std::uint8_t> bytes_of(const Writer& w) {
  auto bytes = w.to_bytes();
  EXPECT_TRUE(bytes.ok());
  if (!bytes.ok()) return {};
  EXPECT_EQ(bytes->size(), w.file_size());
  return std::move(*bytes);
}

const Value& get(const Contents& c, std::string_view key) {
  const Value* v = c.find(key);
  EXPECT_NE(v, nullptr) << key;
  static const Value missing;
  return v != nullptr ? *v : missing;
}

TEST(GgufWriter, EveryValueTypeRoundTrips) {
  Writer w;
  ASSERT_TRUE(w.add_uint8("u8", 255).ok());
  ASSERT_TRUE(w.add_int8("i8", -128).ok());
  ASSERT_TRUE(w.add_uint16("u16", 65535).ok());
  ASSERT_TRUE(w.add_int16("i16", -32768).ok());
  ASSERT_TRUE(w.add_uint32("u32", 4000000000u).ok());
  ASSERT_TRUE(w.add_int32("i32", -2000000000).ok());
  ASSERT_TRUE(w.add_uint64("u64", ~std::uint64_t{0}).ok());
  ASSERT_TRUE(w.add_int64("i64", std::numeric_limits<std::int64_t>::min()).ok());
  ASSERT_TRUE(w.add_float32("f32", 0.1f).ok());
  ASSERT_TRUE(w.add_float64("f64", -1e300).ok());
  ASSERT_TRUE(w.add_bool("yes", true).ok());
  ASSERT_TRUE(w.add_bool("no", false).ok());
  ASSERT_TRUE(w.add_string("empty", "").ok());
  const std::string with_nul("a\0b\xe2\x82\xac", 6);
  ASSERT_TRUE(w.add_string("bytes", with_nul).ok());
  ASSERT_TRUE(w.add_array("a.i32", std::vector<std::int32_t>{1, -2, 3}).ok());
  ASSERT_TRUE(w.add_array("a.f32", std::vector<float>{0.5f, -0.25f}).ok());
  ASSERT_TRUE(w.add_array("a.u64", std::vector<std::uint64_t>{}).ok());
  ASSERT_TRUE(w.add_array("a.i8", std::vector<std::int8_t>{-1, 7}).ok());
  const bool flags[] = {true, false, true};
  ASSERT_TRUE(w.add_array<bool>("a.bool", flags).ok());
  ASSERT_TRUE(w.add_string_array("a.str", std::vector<std::string>{"x", "", with_nul}).ok());
  // Nested: an array of arrays of strings, and an array of (empty) arrays of u16.
  const Value nested = array_of(ValueType::kArray, {array_of(ValueType::kString, {{ValueType::kString, std::string_view("p")}}),
                                                    array_of(ValueType::kString, {})});
  ASSERT_TRUE(w.add_value("a.nested", nested).ok());
  const Value nested_empty = array_of(ValueType::kArray, {array_of(ValueType::kUInt16, {})});
  ASSERT_TRUE(w.add_value("a.nested_empty", nested_empty).ok());
  EXPECT_EQ(w.metadata_count(), 22u);

  const auto bytes = bytes_of(w);
  auto parsed = parse_bytes(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const Contents& c = *parsed;
  EXPECT_EQ(c.version, 3u);
  ASSERT_EQ(c.metadata.size(), 22u);
  EXPECT_EQ(c.metadata[0].key, "u8");  // order is kept
  EXPECT_EQ(get(c, "u8").as_uint(), 255u);
  EXPECT_EQ(get(c, "u8").type, ValueType::kUInt8);
  EXPECT_EQ(get(c, "i8").as_int(), -128);
  EXPECT_EQ(get(c, "u16").as_uint(), 65535u);
  EXPECT_EQ(get(c, "i16").as_int(), -32768);
  EXPECT_EQ(get(c, "u32").as_uint(), 4000000000u);
  EXPECT_EQ(get(c, "i32").as_int(), -2000000000);
  EXPECT_EQ(get(c, "u64").as_uint(), ~std::uint64_t{0});
  EXPECT_EQ(get(c, "i64").as_int(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(get(c, "f32").as_float(), static_cast<double>(0.1f));
  EXPECT_EQ(get(c, "f32").type, ValueType::kFloat32);
  EXPECT_EQ(get(c, "f64").as_float(), -1e300);
  EXPECT_EQ(get(c, "yes").as_bool(), true);
  EXPECT_EQ(get(c, "no").as_bool(), false);
  EXPECT_EQ(get(c, "empty").as_string(), "");
  EXPECT_EQ(get(c, "bytes").as_string(), with_nul);
  const ArrayValue* i32 = get(c, "a.i32").as_array();
  ASSERT_NE(i32, nullptr);
  EXPECT_EQ(i32->element_type, ValueType::kInt32);
  ASSERT_EQ(i32->items.size(), 3u);
  EXPECT_EQ(i32->items[1].as_int(), -2);
  EXPECT_EQ(get(c, "a.f32").as_array()->items[1].as_float(), -0.25);
  EXPECT_EQ(get(c, "a.u64").as_array()->element_type, ValueType::kUInt64);
  EXPECT_TRUE(get(c, "a.u64").as_array()->items.empty());
  EXPECT_EQ(get(c, "a.i8").as_array()->items[0].as_int(), -1);
  EXPECT_EQ(get(c, "a.bool").as_array()->items[2].as_bool(), true);
  const ArrayValue* str = get(c, "a.str").as_array();
  ASSERT_EQ(str->items.size(), 3u);
  EXPECT_EQ(str->items[2].as_string(), with_nul);
  EXPECT_EQ(value_difference(get(c, "a.nested"), nested), "");
  EXPECT_EQ(value_difference(get(c, "a.nested_empty"), nested_empty), "");
}

TEST(GgufWriter, TensorsOfEveryTypeAreAlignedAndIntact) {
  for (std::uint32_t alignment : {32u, 1u, 64u, 4096u}) {
    SCOPED_TRACE("alignment " + std::to_string(alignment));
    Writer w;
    if (alignment != 32) {
      ASSERT_TRUE(w.set_alignment(alignment).ok());
    }
    ASSERT_TRUE(w.add_string("general.architecture", "test").ok());
    std::mt19937 rng(alignment);
    std::vector<std::vector<std::uint8_t>> data;
    for (const auto& t : tensor::all_types()) {
      const std::vector<std::uint64_t> dims = {2 * std::uint64_t{t.block_size}, 3};
      std::vector<std::uint8_t> bytes(*tensor::bytes_for(t.type, dims[0] * dims[1]));
      for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
      ASSERT_TRUE(w.add_tensor("t." + std::string(t.name), t.type, dims, bytes).ok());
      data.push_back(std::move(bytes));
    }
    const auto bytes = bytes_of(w);
    auto parsed = parse_bytes(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->alignment, alignment);
    EXPECT_EQ(parsed->data_offset % alignment, 0u);
    ASSERT_EQ(parsed->tensors.size(), tensor::all_types().size());
    for (std::size_t i = 0; i < parsed->tensors.size(); ++i) {
      const TensorInfo& t = parsed->tensors[i];
      EXPECT_EQ(t.type, tensor::all_types()[i].type);
      EXPECT_EQ(t.n_dims, 2u);
      EXPECT_EQ(t.dims[0], 2 * tensor::all_types()[i].block_size);
      EXPECT_EQ(t.dims[1], 3u);
      EXPECT_EQ(t.offset % alignment, 0u);
      EXPECT_TRUE(std::equal(t.data.begin(), t.data.end(), data[i].begin(), data[i].end())) << t.name;
    }
  }
}

TEST(GgufWriter, ViewsFillsAndFloats) {
  Writer w;
  const std::vector<std::uint8_t> view_bytes(4 * 4, 7);
  const std::vector<std::uint64_t> dims4 = {4};
  ASSERT_TRUE(w.add_tensor_view("view", TensorType::kF32, dims4, view_bytes).ok());
  const std::vector<std::uint64_t> big = {256, 64};
  ASSERT_TRUE(w.add_tensor_fill("filled", TensorType::kQ8_0, big, [](std::span<std::uint8_t> out) {
                 for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(i % 34 == 1 ? 0x3c : i);
               }).ok());
  std::vector<float> values(256 * 2);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<float>(i));
  const std::vector<std::uint64_t> dims_q = {256, 2};
  ASSERT_TRUE(w.add_tensor_from_floats("quantized", TensorType::kQ6_K, dims_q, values).ok());

  const auto bytes = bytes_of(w);
  auto parsed = parse_bytes(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const TensorInfo* view = parsed->find_tensor("view");
  ASSERT_NE(view, nullptr);
  EXPECT_TRUE(std::equal(view->data.begin(), view->data.end(), view_bytes.begin(), view_bytes.end()));
  const TensorInfo* filled = parsed->find_tensor("filled");
  ASSERT_NE(filled, nullptr);
  ASSERT_EQ(filled->data.size(), 64u * 8 * 34);
  EXPECT_EQ(filled->data[1], 0x3c);
  EXPECT_EQ(filled->data[2], 2);
  const TensorInfo* q = parsed->find_tensor("quantized");
  ASSERT_NE(q, nullptr);
  std::vector<float> back(values.size());
  tensor::dequantize(q->type, q->data.data(), back.data(), back.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_NEAR(back[i], values[i], 0.02f) << i;
}

TEST(GgufWriter, WritesFilesAtomically) {
  const auto dir = std::filesystem::temp_directory_path() / ("pensieve_writer_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "model.gguf").string();
  Writer w;
  ASSERT_TRUE(w.add_string("general.architecture", "llama").ok());
  const std::vector<float> v(64, 1.5f);
  const std::vector<std::uint64_t> dims = {64};
  ASSERT_TRUE(w.add_tensor_from_floats("x", TensorType::kF16, dims, v).ok());
  ASSERT_TRUE(w.write_file(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
  auto file = File::open(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->file_size(), w.file_size());
  EXPECT_EQ(*file->contents().get_string("general.architecture").value(), "llama");
  EXPECT_FALSE(w.write_file((dir / "missing" / "x.gguf").string()).ok());
  std::filesystem::remove_all(dir);
}

TEST(GgufWriter, RowFillsStreamInBoundedRunsOfWholeRows) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("pensieve_writer_rows_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "rows.gguf").string();
  // Rows of 24 MiB: a run holds two of them, so five rows take three calls.
  const std::uint64_t row_bytes = 24u << 20;
  const std::vector<std::uint64_t> dims = {row_bytes / 34 * 32, 5};
  const std::uint64_t packed_row = dims[0] / 32 * 34;
  std::vector<std::pair<std::uint64_t, std::size_t>> calls;
  Writer w;
  ASSERT_TRUE(w.add_tensor_rows("big", TensorType::kQ8_0, dims,
                                [&](std::uint64_t first, std::span<std::uint8_t> out) {
                                  calls.emplace_back(first, out.size());
                                  for (std::size_t i = 0; i < out.size(); ++i) {
                                    out[i] = static_cast<std::uint8_t>(first + i / packed_row);
                                  }
                                })
                  .ok());
  const std::vector<std::uint64_t> small = {32, 3};
  ASSERT_TRUE(w.add_tensor_rows("small", TensorType::kF32, small,
                                [](std::uint64_t first, std::span<std::uint8_t> out) {
                                  std::fill(out.begin(), out.end(), static_cast<std::uint8_t>(100 + first));
                                })
                  .ok());
  ASSERT_TRUE(w.write_file(path).ok());
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0], std::make_pair(std::uint64_t{0}, std::size_t(2 * packed_row)));
  EXPECT_EQ(calls[1], std::make_pair(std::uint64_t{2}, std::size_t(2 * packed_row)));
  EXPECT_EQ(calls[2], std::make_pair(std::uint64_t{4}, std::size_t(packed_row)));
  {
    auto file = File::open(path);
    ASSERT_TRUE(file.ok()) << file.error().message;
    const TensorInfo* big = file->contents().find_tensor("big");
    ASSERT_NE(big, nullptr);
    for (std::uint64_t r = 0; r < 5; ++r) EXPECT_EQ(big->data[r * packed_row + 7], r) << r;
    const TensorInfo* s = file->contents().find_tensor("small");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->data.front(), 100);  // one call for all three rows
    EXPECT_EQ(s->data.back(), 100);
  }
  // to_bytes() makes the whole tensor in one call.
  calls.clear();
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].second, 5 * packed_row);
  std::filesystem::remove_all(dir);
}
TEST(GgufWriter, RefusesWhatReadersWouldReject) {
  Writer w;
  ASSERT_TRUE(w.add_uint32("k", 1).ok());
  EXPECT_FALSE(w.add_string("k", "again").ok());
  EXPECT_FALSE(w.add_value("bad.u8", {ValueType::kUInt8, std::uint64_t{300}}).ok());
  EXPECT_FALSE(w.add_value("bad.i8", {ValueType::kInt8, std::int64_t{-129}}).ok());
  EXPECT_FALSE(w.add_value("bad.mixed", array_of(ValueType::kUInt32, {{ValueType::kString, std::string_view("s")}})).ok());
  Value deep{ValueType::kUInt8, std::uint64_t{1}};
  for (std::uint32_t i = 0; i < kMaxArrayDepth + 1; ++i) deep = array_of(deep.type, {deep});
  EXPECT_FALSE(w.add_value("bad.deep", deep).ok());
  EXPECT_FALSE(w.set_alignment(48).ok());
  EXPECT_FALSE(w.add_value("general.alignment", {ValueType::kFloat32, 32.0}).ok());
  EXPECT_FALSE(w.add_array("general.alignment", std::vector<std::uint32_t>{32}).ok());
  EXPECT_EQ(w.metadata_count(), 1u);  // refused values leave nothing behind

  const std::vector<std::uint8_t> q8(34);
  const std::vector<std::uint64_t> one_block = {32};
  ASSERT_TRUE(w.add_tensor("t", TensorType::kQ8_0, one_block, q8).ok());
  EXPECT_FALSE(w.add_tensor("t", TensorType::kQ8_0, one_block, q8).ok());              // duplicate
  EXPECT_FALSE(w.add_tensor("short", TensorType::kQ8_0, one_block, {q8.data(), 33}).ok());  // wrong size
  const std::vector<std::uint64_t> partial = {16};
  EXPECT_FALSE(w.add_tensor("partial", TensorType::kQ8_0, partial, q8).ok());
  const std::vector<std::uint64_t> five = {32, 1, 1, 1, 1};
  EXPECT_FALSE(w.add_tensor("five", TensorType::kQ8_0, five, q8).ok());
  const std::vector<std::uint64_t> zero = {32, 0};
  EXPECT_FALSE(w.add_tensor("zero", TensorType::kQ8_0, zero, q8).ok());
  EXPECT_FALSE(w.add_tensor_from_floats("iq", TensorType::kIQ2_XXS, std::vector<std::uint64_t>{256},
                                        std::vector<float>(256)).ok());
  EXPECT_EQ(w.tensor_count(), 1u);
  // A refused name stays free.
  EXPECT_TRUE(w.add_tensor("short", TensorType::kQ8_0, one_block, q8).ok());
}

// Large vocabularies and tensors are the server tests' use: a 150k-entry string array and a
// 4 MiB tensor produced at write time.
TEST(GgufWriter, LargeVocabularyAndTensor) {
  std::vector<std::string> tokens;
  tokens.reserve(150000);
  for (int i = 0; i < 150000; ++i) tokens.push_back("tok" + std::to_string(i));
  Writer w;
  ASSERT_TRUE(w.add_string_array("tokenizer.ggml.tokens", tokens).ok());
  ASSERT_TRUE(w.add_array("tokenizer.ggml.token_type", std::vector<std::int32_t>(tokens.size(), 1)).ok());
  const std::vector<std::uint64_t> dims = {1024, 1024};
  ASSERT_TRUE(w.add_tensor_fill("token_embd.weight", TensorType::kF32, dims,
                                [](std::span<std::uint8_t> out) { std::fill(out.begin(), out.end(), 0); }).ok());
  const auto bytes = bytes_of(w);
  auto parsed = parse_bytes(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const ArrayValue* t = parsed->get_array("tokenizer.ggml.tokens").value();
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->items.size(), 150000u);
  EXPECT_EQ(t->items[149999].as_string(), "tok149999");
  EXPECT_EQ(parsed->find_tensor("token_embd.weight")->data.size(), 1024u * 1024 * 4);
}

// Copying a fixture model through the writer keeps every key, value, shape, type and byte; and
// since the established writer lays files out the same way, the copy is byte-identical.
TEST(GgufWriter, RewritesEveryFixtureModelIdentically) {
  int rewritten = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kModels)) {
    // A derived fixture is written by this writer: copying it would check nothing more.
    if (entry.path().extension() != ".gguf" ||
        ::pensieve::testing::is_derived_fixture("models/" + entry.path().filename().string())) {
      continue;
    }
    SCOPED_TRACE(entry.path().filename().string());
    auto original = File::open(entry.path().string());
    ASSERT_TRUE(original.ok());
    const Contents& c = original->contents();
    Writer w;
    for (const auto& kv : c.metadata) ASSERT_TRUE(w.add_value(kv.key, kv.value).ok()) << kv.key;
    for (const auto& t : c.tensors) {
      ASSERT_TRUE(w.add_tensor_view(t.name, t.type, std::span(t.dims).first(t.n_dims), t.data).ok()) << t.name;
    }
    const auto bytes = bytes_of(w);
    auto copy = parse_bytes(bytes);
    ASSERT_TRUE(copy.ok()) << copy.error().message;
    ASSERT_EQ(copy->metadata.size(), c.metadata.size());
    for (std::size_t i = 0; i < c.metadata.size(); ++i) {
      EXPECT_EQ(copy->metadata[i].key, c.metadata[i].key);
      EXPECT_EQ(value_difference(copy->metadata[i].value, c.metadata[i].value, std::string(c.metadata[i].key)), "");
    }
    ASSERT_EQ(copy->tensors.size(), c.tensors.size());
    for (std::size_t i = 0; i < c.tensors.size(); ++i) {
      const TensorInfo& a = copy->tensors[i];
      const TensorInfo& b = c.tensors[i];
      EXPECT_EQ(a.name, b.name);
      EXPECT_EQ(a.n_dims, b.n_dims);
      EXPECT_EQ(a.dims, b.dims);
      EXPECT_EQ(a.type, b.type);
      EXPECT_TRUE(std::equal(a.data.begin(), a.data.end(), b.data.begin(), b.data.end())) << a.name;
    }
    auto mapped = MappedFile::open(entry.path().string());
    ASSERT_TRUE(mapped.ok());
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), mapped->bytes().begin(), mapped->bytes().end()))
        << "sizes " << bytes.size() << " vs " << mapped->size();
    ++rewritten;
  }
  EXPECT_GT(rewritten, 10);
}

}  // namespace
}  // namespace pensieve::gguf
