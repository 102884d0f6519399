#include "hub/cache.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "temp_dir.hpp"

namespace pensieve::hub {
namespace {

namespace fs = std::filesystem;
using testing::make_test_dir;
using testing::read_all;

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = make_test_dir("pensieve-cache"); }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(CacheTest, FollowsTheHuggingFaceLayout) {
  EXPECT_EQ(repo_folder_name("Qwen/Qwen3-1.7B-GGUF"), "models--Qwen--Qwen3-1.7B-GGUF");
  const RepoCache cache(root_, "Qwen/Qwen3-1.7B-GGUF");
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  const std::string etag = std::string(64, 'a');
  EXPECT_EQ(cache.folder(), root_ / "models--Qwen--Qwen3-1.7B-GGUF");
  EXPECT_EQ(cache.blob(etag), cache.folder() / "blobs" / etag);
  EXPECT_EQ(cache.incomplete_blob(etag), cache.folder() / "blobs" / (etag + ".incomplete"));
  EXPECT_EQ(cache.lock_file(etag), root_ / ".locks" / "models--Qwen--Qwen3-1.7B-GGUF" / (etag + ".lock"));

  fs::create_directories(cache.folder() / "blobs");
  std::ofstream(cache.blob(etag)) << "weights";
  ASSERT_TRUE(cache.link_snapshot(commit, "sub/dir/model.gguf", etag).ok());
  ASSERT_TRUE(cache.link_snapshot(commit, "top.gguf", etag).ok());
  const fs::path nested = cache.folder() / "snapshots" / commit / "sub" / "dir" / "model.gguf";
  const fs::path top = cache.folder() / "snapshots" / commit / "top.gguf";
  // Relative links, one ".." per folder below the repository folder.
  ASSERT_TRUE(fs::is_symlink(nested));
  EXPECT_EQ(fs::read_symlink(nested), fs::path("../../../../blobs") / etag);
  EXPECT_EQ(fs::read_symlink(top), fs::path("../../blobs") / etag);
  EXPECT_EQ(read_all(nested), "weights");
  EXPECT_EQ(read_all(top), "weights");

  ASSERT_TRUE(cache.write_ref(commit).ok());
  EXPECT_EQ(read_all(cache.folder() / "refs" / "main"), commit);  // the bare hash, no newline
  EXPECT_EQ(cache.read_ref(), commit);
  EXPECT_EQ(cache.current_commit(), commit);
  const auto files = cache.snapshot_files(commit);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, "sub/dir/model.gguf");
  EXPECT_EQ(files[0].size, 7u);
  EXPECT_EQ(cached_repos(root_), std::vector<std::string>{"Qwen/Qwen3-1.7B-GGUF"});
}

TEST_F(CacheTest, ADanglingLinkIsNotAFile) {
  const RepoCache cache(root_, "org/repo");
  ASSERT_TRUE(cache.link_snapshot("abc", "gone.gguf", std::string(64, 'b')).ok());
  EXPECT_TRUE(cache.snapshot_files("abc").empty());
  // No refs/main: the newest snapshot is the current one.
  EXPECT_EQ(cache.current_commit(), "abc");
}

TEST_F(CacheTest, TheRootComesFromTheEnvironmentAsHuggingFaceHubReadsIt) {
  struct Saved {
    const char* name;
    std::optional<std::string> value;
  };
  std::vector<Saved> saved;
  for (const char* name : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME"}) {
    const char* v = std::getenv(name);
    saved.push_back({name, v ? std::optional<std::string>(v) : std::nullopt});
    ::unsetenv(name);
  }
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_cache_root(), fs::path("/home/u/.cache/huggingface/hub"));
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(default_cache_root(), fs::path("/xdg/huggingface/hub"));
  ::setenv("HF_HOME", "/hf", 1);
  EXPECT_EQ(default_cache_root(), fs::path("/hf/hub"));
  ::setenv("HF_HUB_CACHE", "/hubcache", 1);
  EXPECT_EQ(default_cache_root(), fs::path("/hubcache"));
  for (const auto& s : saved) {
    if (s.value) {
      ::setenv(s.name, s.value->c_str(), 1);
    } else {
      ::unsetenv(s.name);
    }
  }
}

}  // namespace
}  // namespace pensieve::hub
