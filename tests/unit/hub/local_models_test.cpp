// list_local_models and resolve_model over a Hugging Face cache and an LM Studio folder built by
// the test, by the layouts' published conventions (blobs, relative snapshot links, refs/main;
// PUBLISHER/REPO/FILE.gguf).
#include "hub/local_models.hpp"

#include <gtest/gtest.h>

#include "hub/cache.hpp"
#include "hub/model_ref.hpp"
#include "support/tiny_gguf.hpp"
#include "temp_dir.hpp"

namespace pensieve::hub {
namespace {

namespace fs = std::filesystem;
using pensieve::testing::tiny_gguf;
using pensieve::testing::TinyGguf;
using pensieve::testing::write_file;

constexpr const char* kCommit = "1111111111111111111111111111111111111111";

// Stores `bytes` as huggingface_hub would: a blob named by its etag, a relative link to it.
void put_in_hf_cache(const fs::path& root, const std::string& repo, const std::string& path,
                     const std::string& bytes, const std::string& etag) {
  const fs::path folder = root / repo_folder_name(repo);
  write_file((folder / "blobs" / etag).string(), bytes);
  const fs::path link = folder / "snapshots" / kCommit / path;
  fs::create_directories(link.parent_path());
  fs::create_symlink(fs::path("../../blobs") / etag, link);
  write_file((folder / "refs" / "main").string(), kCommit);
}

class LocalModelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_test_dir("pensieve-local");
    hf_ = dir_ / "hf" / "hub";
    lms_ = dir_ / "lmstudio" / "models";
    put_in_hf_cache(hf_, "test-org/Tiny-GGUF", "Tiny-Q4_K_M.gguf",
                    tiny_gguf({.architecture = "qwen3", .context_length = 40960, .file_type = 15}),
                    std::string(64, 'a'));
    put_in_hf_cache(hf_, "test-org/Tiny-GGUF", "Tiny-Q8_0.gguf",
                    tiny_gguf({.architecture = "qwen3", .context_length = 40960, .file_type = 7}),
                    std::string(64, 'b'));
    write_file((lms_ / "lmstudio-community" / "Small-GGUF" / "Small-Q6_K.gguf").string(),
               tiny_gguf({.architecture = "llama", .context_length = 8192, .file_type = 18}));
    // A file named without a tag: its quantization comes from general.file_type.
    write_file((lms_ / "someone" / "Plain" / "plain.gguf").string(),
               tiny_gguf({.architecture = "phi3", .context_length = 4096, .file_type = 1}));
    options_.pull_options.cache_root = hf_;
    options_.lmstudio_dirs = {lms_};
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_, hf_, lms_;
  ResolveOptions options_;
};

TEST_F(LocalModelsTest, ListsBothPlacesWithTheirHeaders) {
  const auto models = list_local_models(hf_, {lms_});
  ASSERT_EQ(models.size(), 4u);
  EXPECT_EQ(models[0].reference, "test-org/Tiny-GGUF:Q4_K_M");
  EXPECT_EQ(models[0].source, "huggingface");
  EXPECT_EQ(models[0].quantization, "Q4_K_M");
  EXPECT_EQ(models[0].architecture, "qwen3");
  EXPECT_EQ(models[0].context_length, 40960u);
  EXPECT_EQ(models[0].size,
            fs::file_size(hf_ / "models--test-org--Tiny-GGUF" / "blobs" / std::string(64, 'a')));
  EXPECT_EQ(models[0].files.front(),
            hf_ / "models--test-org--Tiny-GGUF" / "snapshots" / kCommit / "Tiny-Q4_K_M.gguf");
  EXPECT_EQ(models[0].problem, "");
  EXPECT_EQ(models[1].reference, "test-org/Tiny-GGUF:Q8_0");
  EXPECT_EQ(models[2].reference, "lmstudio-community/Small-GGUF:Q6_K");
  EXPECT_EQ(models[2].source, "lmstudio");
  EXPECT_EQ(models[2].architecture, "llama");
  EXPECT_EQ(models[2].context_length, 8192u);
  EXPECT_EQ(models[3].reference, "someone/Plain/plain.gguf");
  EXPECT_EQ(models[3].quantization, "F16");
  EXPECT_EQ(models[3].architecture, "phi3");
}

TEST_F(LocalModelsTest, AnUnreadableFileIsListedWithItsProblem) {
  write_file((lms_ / "x" / "Broken" / "broken-Q4_0.gguf").string(), "not a gguf at all");
  const auto models = list_local_models(hf_, {lms_});
  ASSERT_EQ(models.size(), 5u);
  const auto it = std::find_if(models.begin(), models.end(),
                               [](const LocalModel& m) { return m.reference == "x/Broken:Q4_0"; });
  ASSERT_NE(it, models.end());
  EXPECT_NE(it->problem.find("unreadable"), std::string::npos);
}

TEST_F(LocalModelsTest, EveryListedReferenceResolvesToItsFile) {
  for (const auto& m : list_local_models(hf_, {lms_})) {
    auto resolved = resolve_model(m.reference, options_);
    ASSERT_TRUE(resolved.ok()) << m.reference << ": " << resolved.error().message;
    EXPECT_EQ(resolved->path, m.files.front().string()) << m.reference;
  }
}

TEST_F(LocalModelsTest, ResolvesPathsAsTheyAre) {
  const std::string path = (lms_ / "someone" / "Plain" / "plain.gguf").string();
  auto resolved = resolve_model(path, options_);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->path, path);
  auto missing = resolve_model((dir_ / "nope.gguf").string(), options_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "no such file: " + (dir_ / "nope.gguf").string());
  auto relative = resolve_model("nope.gguf", options_);
  ASSERT_FALSE(relative.ok());
  EXPECT_EQ(relative.error().message, "no such file: nope.gguf");
}

TEST_F(LocalModelsTest, AReferenceNotHereSaysHowToFetchIt) {
  auto missing_quant = resolve_model("test-org/Tiny-GGUF:Q5_K_M", options_);
  ASSERT_FALSE(missing_quant.ok());
  EXPECT_EQ(missing_quant.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing_quant.error().message.find("pensieve pull test-org/Tiny-GGUF:Q5_K_M"), std::string::npos)
      << missing_quant.error().message;
  EXPECT_NE(missing_quant.error().message.find("--pull"), std::string::npos);
  auto missing_repo = resolve_model("other/Repo-GGUF", options_);
  ASSERT_FALSE(missing_repo.ok());
  EXPECT_NE(missing_repo.error().message.find("pensieve pull other/Repo-GGUF"), std::string::npos);
  // Two cached models and no tag: Q4_K_M, as on the hub, and the note says so.
  auto bare = resolve_model("test-org/Tiny-GGUF", options_);
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  EXPECT_NE(bare->path.find("Tiny-Q4_K_M.gguf"), std::string::npos);
  EXPECT_NE(bare->note.find("picked Q4_K_M"), std::string::npos);
}

}  // namespace
}  // namespace pensieve::hub
