// The fixtures tests derive (support/derived_fixtures.hpp) are their source with exactly the one
// change they stand for. While ../shared still holds the originals, the derived copies must equal
// them byte for byte: this is the one test that opens those originals, and only when they exist.
#include "support/derived_fixtures.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gguf/reader.hpp"
#include "gguf/value_equal.hpp"
#include "tensor/half.hpp"

namespace pensieve::testing {
namespace {

using gguf::File;

const std::vector<std::string> kDerived = {"vocab/ggml-vocab-gpt-2-pre-gpt2.gguf",
                                           "vocab/ggml-vocab-gpt-2-pre-llama3.gguf",
                                           "vocab/ggml-vocab-gpt-2-pre-qwen2.gguf", "models/llama-f32.gguf"};

File open(const std::string& path) {
  auto file = File::open(path);
  if (!file) throw std::runtime_error(file.error().message);
  return std::move(*file);
}

std::vector<char> bytes_of(const std::string& path) {
  std::vector<char> bytes(std::filesystem::file_size(path));
  std::ifstream(path, std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

// Every key of `derived` equals the source's, in order, except `changed`, which must hold `value`.
void expect_metadata_changed_only(const gguf::Contents& source, const gguf::Contents& derived,
                                  std::string_view changed, const gguf::Value& value) {
  ASSERT_EQ(derived.metadata.size(), source.metadata.size());
  int seen = 0;
  for (std::size_t i = 0; i < source.metadata.size(); ++i) {
    const auto& s = source.metadata[i];
    const auto& d = derived.metadata[i];
    EXPECT_EQ(d.key, s.key);
    if (d.key == changed) {
      ++seen;
      EXPECT_EQ(gguf::testing::value_difference(d.value, value, std::string(d.key)), "");
      EXPECT_NE(gguf::testing::value_difference(s.value, value), "") << "the source already had " << d.key;
    } else {
      EXPECT_EQ(gguf::testing::value_difference(d.value, s.value, std::string(d.key)), "");
    }
  }
  EXPECT_EQ(seen, 1) << changed;
}

TEST(DerivedFixtures, LlamaF32IsLlamaF16WithEveryHalfWidenedExactly) {
  const File source = open(derived_fixture_source("models/llama-f32.gguf"));
  const File derived = open(fixture_path("models/llama-f32.gguf"));
  expect_metadata_changed_only(source.contents(), derived.contents(), "general.file_type",
                               {gguf::ValueType::kUInt32, std::uint64_t{0}});
  const auto& from = source->tensors;
  const auto& to = derived->tensors;
  ASSERT_EQ(to.size(), from.size());
  int widened = 0;
  for (std::size_t i = 0; i < from.size(); ++i) {
    SCOPED_TRACE(std::string(from[i].name));
    EXPECT_EQ(to[i].name, from[i].name);
    EXPECT_EQ(to[i].dims, from[i].dims);
    EXPECT_EQ(to[i].type, tensor::TensorType::kF32);
    ASSERT_EQ(to[i].element_count, from[i].element_count);
    if (from[i].type == tensor::TensorType::kF32) {
      EXPECT_TRUE(std::equal(to[i].data.begin(), to[i].data.end(), from[i].data.begin(), from[i].data.end()));
      continue;
    }
    ASSERT_EQ(from[i].type, tensor::TensorType::kF16);
    ++widened;
    std::size_t mismatches = 0;
    for (std::size_t j = 0; j < from[i].element_count; ++j) {
      std::uint16_t half = 0;
      float wide = 0;
      std::memcpy(&half, from[i].data.data() + 2 * j, sizeof half);
      std::memcpy(&wide, to[i].data.data() + 4 * j, sizeof wide);
      const float want = tensor::fp16_to_fp32(half);
      if (std::memcmp(&wide, &want, sizeof wide) != 0) ++mismatches;
    }
    EXPECT_EQ(mismatches, 0u);
  }
  EXPECT_GT(widened, 10);
}

TEST(DerivedFixtures, VocabulariesDifferFromGpt2OnlyInTheirPreTokenizer) {
  const std::pair<const char*, std::string_view> cases[] = {
      {"vocab/ggml-vocab-gpt-2-pre-gpt2.gguf", "gpt-2"},
      {"vocab/ggml-vocab-gpt-2-pre-llama3.gguf", "llama-bpe"},
      {"vocab/ggml-vocab-gpt-2-pre-qwen2.gguf", "qwen2"},
  };
  for (const auto& [relative, pre] : cases) {
    SCOPED_TRACE(relative);
    const File source = open(derived_fixture_source(relative));
    const File derived = open(fixture_path(relative));
    if (pre == "gpt-2") {
      // GPT-2's own value: the copy is the source unchanged.
      for (std::size_t i = 0; i < source->metadata.size() && i < derived->metadata.size(); ++i) {
        EXPECT_EQ(gguf::testing::value_difference(derived->metadata[i].value, source->metadata[i].value), "");
      }
      EXPECT_EQ(*derived->get_string("tokenizer.ggml.pre").value(), "gpt-2");
    } else {
      expect_metadata_changed_only(source.contents(), derived.contents(), "tokenizer.ggml.pre",
                                   {gguf::ValueType::kString, pre});
    }
    EXPECT_EQ(derived->tensors.size(), source->tensors.size());
  }
}

TEST(DerivedFixtures, MatchTheSharedOriginalsByteForByteWhileTheyExist) {
  int compared = 0;
  for (const std::string& relative : kDerived) {
    const std::string original = std::string(PENSIEVE_FIXTURES) + "/" + relative;
    if (!std::filesystem::exists(original)) continue;
    ++compared;
    const auto want = bytes_of(original);
    const auto got = bytes_of(fixture_path(relative));
    EXPECT_EQ(got.size(), want.size()) << relative;
    EXPECT_TRUE(got == want) << relative << " differs from the shared original";
  }
  if (compared == 0)
    GTEST_SKIP() << "the originals have left ../shared; the tests above still check the derivation";
}

TEST(DerivedFixtures, OnlyTheFourAreDerived) {
  for (const std::string& relative : kDerived) {
    EXPECT_TRUE(is_derived_fixture(relative)) << relative;
    EXPECT_EQ(fixture_path(relative).rfind(PENSIEVE_BINARY_DIR, 0), 0u) << fixture_path(relative);
  }
  for (const char* shared : {"models/llama-f16.gguf", "vocab/ggml-vocab-gpt-2.gguf",
                             "vocab/ggml-vocab-gpt-2-pre-qwen2.gguf.inp", "models/manifest.json"}) {
    EXPECT_FALSE(is_derived_fixture(shared)) << shared;
    EXPECT_EQ(fixture_path(shared), std::string(PENSIEVE_FIXTURES) + "/" + shared);
  }
}

}  // namespace
}  // namespace pensieve::testing
