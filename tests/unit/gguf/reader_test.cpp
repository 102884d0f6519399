#include "gguf/reader.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "support/derived_fixtures.hpp"

namespace pensieve::gguf {
namespace {

const std::string kModels = std::string(PENSIEVE_FIXTURES) + "/models";

TEST(GgufReader, ReadsFixtureMetadataAndTensors) {
  auto file = File::open(kModels + "/qwen3-f16.gguf");
  ASSERT_TRUE(file.ok()) << file.error().message;
  const auto& c = file->contents();
  EXPECT_EQ(c.version, 3u);
  auto arch = c.get_string("general.architecture");
  ASSERT_TRUE(arch.ok());
  ASSERT_TRUE(arch->has_value());
  EXPECT_EQ(**arch, "qwen3");
  const TensorInfo* embd = c.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->n_dims, 2u);
  EXPECT_EQ(embd->data.size(), *tensor::bytes_for(embd->type, embd->element_count));
}

TEST(GgufReader, EveryFixtureModelParses) {
  // The shared models, and the ones tests derive from them (read in their place).
  std::vector<std::string> paths = {::pensieve::testing::fixture_path("models/llama-f32.gguf")};
  for (const auto& entry : std::filesystem::directory_iterator(kModels)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".gguf" || ::pensieve::testing::is_derived_fixture("models/" + name))
      continue;
    paths.push_back(entry.path().string());
  }
  for (const std::string& path : paths) {
    auto file = File::open(path);
    EXPECT_TRUE(file.ok()) << path << ": " << (file.ok() ? "" : file.error().message);
  }
  EXPECT_GT(paths.size(), 10u);
}

TEST(GgufReader, WrongTypedLookupIsAnError) {
  auto file = File::open(kModels + "/llama-f16.gguf");
  ASSERT_TRUE(file.ok());
  auto v = file->contents().get_uint("general.architecture");
  EXPECT_FALSE(v.ok());
}

TEST(GgufReader, RejectsBadMagicAndShortHeader) {
  std::vector<std::uint8_t> bytes = {'G', 'G', 'U', 'X', 3, 0, 0, 0};
  EXPECT_FALSE(parse(bytes).ok());
  std::vector<std::uint8_t> shorty = {'G', 'G', 'U', 'F', 3, 0};
  auto r = parse(shorty);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("file ends"), std::string::npos);
}

TEST(GgufReader, RejectsHugeCountsWithoutAllocating) {
  std::vector<std::uint8_t> bytes(24, 0);
  std::memcpy(bytes.data(), "GGUF", 4);
  bytes[4] = 3;
  const std::uint64_t huge = ~std::uint64_t{0};
  std::memcpy(bytes.data() + 16, &huge, 8);  // metadata count
  auto r = parse(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("metadata count"), std::string::npos);
}

}  // namespace
}  // namespace pensieve::gguf
