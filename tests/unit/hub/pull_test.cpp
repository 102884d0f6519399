// hub::pull against a hub on loopback (tests/support/fake_hub): the downloads, the resume, the
// checks and the messages, and the cache it leaves behind.
#include "hub/pull.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "hub/cache.hpp"
#include "support/fake_hub.hpp"
#include "support/tiny_gguf.hpp"
#include "temp_dir.hpp"

namespace pensieve::hub {
namespace {

namespace fs = std::filesystem;
using pensieve::testing::FakeHub;
using pensieve::testing::FakeHubFile;
using pensieve::testing::FakeHubRepo;
using pensieve::testing::tiny_gguf;
using testing::read_all;

constexpr const char* kCommit = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
constexpr const char* kRepo = "test-org/Tiny-GGUF";

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_test_dir("pensieve-pull");
    q4_ = tiny_gguf({.file_type = 15, .payload_floats = 64 << 10, .seed = 1});  // 256 KiB
    q8_ = tiny_gguf({.file_type = 7, .payload_floats = 1024, .seed = 2});
    mmproj_ = tiny_gguf({.architecture = "clip", .payload_floats = 256, .seed = 3});
    hub_.add_repo({kRepo,
                   kCommit,
                   {{"README.md", "# Tiny\n", false},
                    {"Tiny-Q4_K_M.gguf", q4_},
                    {"Tiny-Q8_0.gguf", q8_},
                    {"mmproj-Tiny-F16.gguf", mmproj_}}});
    options_.hub.endpoint = hub_.endpoint();
    options_.cache_root = dir_ / "hub";
    options_.progress = ProgressStyle::kLines;
    options_.out = open_memstream(&log_text_, &log_size_);
  }
  void TearDown() override {
    std::fclose(options_.out);
    std::free(log_text_);
    fs::remove_all(dir_);
  }

  Result<PullResult> pull_ref(const std::string& text) {
    auto ref = parse_reference(text);
    EXPECT_TRUE(ref.ok()) << text;
    return pull(*ref, options_);
  }
  std::string log() {
    std::fflush(options_.out);
    return std::string(log_text_, log_size_);
  }
  fs::path repo_folder(const std::string& repo = kRepo) {
    return options_.cache_root / repo_folder_name(repo);
  }
  std::size_t blob_count(const std::string& repo = kRepo) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(repo_folder(repo) / "blobs")) ++n;
    return n;
  }

  FakeHub hub_;
  PullOptions options_;
  fs::path dir_;
  std::string q4_, q8_, mmproj_;
  char* log_text_ = nullptr;
  std::size_t log_size_ = 0;
};

TEST_F(PullTest, DownloadsThroughTheRedirectIntoTheCacheLayout) {
  auto pulled = pull_ref("test-org/Tiny-GGUF:q4_k_m");
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  const std::string sha = FakeHub::sha256_hex(q4_);
  const fs::path snapshot = repo_folder() / "snapshots" / kCommit / "Tiny-Q4_K_M.gguf";
  ASSERT_EQ(pulled->files, std::vector<fs::path>{snapshot});
  EXPECT_EQ(pulled->commit, kCommit);
  EXPECT_FALSE(pulled->already_present);
  // The published layout: the blob named by its SHA-256, a relative link, refs/main.
  ASSERT_TRUE(fs::is_symlink(snapshot));
  EXPECT_EQ(fs::read_symlink(snapshot), fs::path("../../blobs") / sha);
  EXPECT_EQ(read_all(repo_folder() / "blobs" / sha), q4_);
  EXPECT_EQ(read_all(snapshot), q4_);
  EXPECT_EQ(read_all(repo_folder() / "refs" / "main"), kCommit);
  EXPECT_EQ(blob_count(), 1u) << "only the chosen file is fetched, and no .incomplete is left";

  bool resolved = false, paged = false;
  for (const auto& r : hub_.requests()) {
    if (r.path == std::string("/") + kRepo + "/resolve/" + kCommit + "/Tiny-Q4_K_M.gguf")
      resolved = r.status == 302;
    if (r.path.find("/tree/") != std::string::npos && r.path.find("cursor") == std::string::npos)
      paged = true;
  }
  EXPECT_TRUE(resolved) << "the file is asked for at the listed commit and redirected";
  EXPECT_TRUE(paged);
  const auto blob = hub_.blob_requests(sha);
  ASSERT_EQ(blob.size(), 1u);
  EXPECT_EQ(blob[0].range, "");
  EXPECT_NE(log().find("Tiny-Q4_K_M.gguf: 256.2 KiB in"), std::string::npos) << log();
}

TEST_F(PullTest, TheFileListIsReadAcrossPages) {
  // Two entries a page: Tiny-Q8_0.gguf is on the second and mmproj on the second too.
  auto pulled = pull_ref("test-org/Tiny-GGUF:Q8_0");
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(read_all(pulled->files.front()), q8_);
  int pages = 0;
  for (const auto& r : hub_.requests()) pages += r.path.find("/tree/") != std::string::npos;
  EXPECT_EQ(pages, 2);
}

TEST_F(PullTest, ASecondPullIsANoOp) {
  ASSERT_TRUE(pull_ref("test-org/Tiny-GGUF:Q4_K_M").ok());
  const auto before = hub_.requests().size();
  auto again = pull_ref("test-org/Tiny-GGUF:Q4_K_M");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->already_present);
  EXPECT_EQ(hub_.blob_requests(FakeHub::sha256_hex(q4_)).size(), 1u) << "no second download";
  for (std::size_t i = before; i < hub_.requests().size(); ++i) {
    EXPECT_EQ(hub_.requests()[i].path.find("/resolve/"), std::string::npos) << hub_.requests()[i].path;
  }
}

TEST_F(PullTest, ACutTransferResumesWithRangeOnTheNextPull) {
  const std::string sha = FakeHub::sha256_hex(q4_);
  hub_.cut_after(sha, 100000);
  options_.retries = 0;
  auto first = pull_ref("test-org/Tiny-GGUF:Q4_K_M");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::kIo);
  EXPECT_NE(first.error().message.find("Run the pull again to resume"), std::string::npos)
      << first.error().message;
  const fs::path partial = repo_folder() / "blobs" / (sha + ".incomplete");
  ASSERT_TRUE(fs::exists(partial));
  EXPECT_EQ(fs::file_size(partial), 100000u);
  EXPECT_FALSE(fs::exists(repo_folder() / "blobs" / sha));

  auto second = pull_ref("test-org/Tiny-GGUF:Q4_K_M");
  ASSERT_TRUE(second.ok()) << second.error().message;
  const auto transfers = hub_.blob_requests(sha);
  ASSERT_EQ(transfers.size(), 2u);
  EXPECT_EQ(transfers[0].range, "");
  EXPECT_EQ(transfers[1].range, "bytes=100000-");
  EXPECT_EQ(read_all(second->files.front()), q4_);
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_NE(log().find("resuming after 97.7 KiB"), std::string::npos) << log();
}

TEST_F(PullTest, ACutTransferIsRetriedFromWhereItStopped) {
  const std::string sha = FakeHub::sha256_hex(q4_);
  hub_.cut_after(sha, 50000);
  auto pulled = pull_ref("test-org/Tiny-GGUF:Q4_K_M");
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  const auto transfers = hub_.blob_requests(sha);
  ASSERT_EQ(transfers.size(), 2u);
  EXPECT_EQ(transfers[1].range, "bytes=50000-");
  EXPECT_EQ(read_all(pulled->files.front()), q4_);
  EXPECT_NE(log().find("resuming"), std::string::npos) << log();
}

TEST_F(PullTest, AServerThatIgnoresTheRangeIsFollowedFromTheStart) {
  // A partial download whose bytes are not this file's: were the whole answer appended to it,
  // the checksum would fail.
  const std::string sha = FakeHub::sha256_hex(q4_);
  pensieve::testing::write_file((repo_folder() / "blobs" / (sha + ".incomplete")).string(),
                                std::string(5000, 'x'));
  hub_.set_ranges(FakeHub::Ranges::kIgnore);
  auto pulled = pull_ref("test-org/Tiny-GGUF:Q4_K_M");
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  const auto transfers = hub_.blob_requests(sha);
  ASSERT_EQ(transfers.size(), 1u);
  EXPECT_EQ(transfers[0].range, "bytes=5000-");
  EXPECT_EQ(read_all(pulled->files.front()), q4_);
}

TEST_F(PullTest, APartialAnswerThatDoesNotContinueTheFileStartsItOver) {
  const std::string sha = FakeHub::sha256_hex(q4_);
  pensieve::testing::write_file((repo_folder() / "blobs" / (sha + ".incomplete")).string(),
                                q4_.substr(0, 5000));
  hub_.set_ranges(FakeHub::Ranges::kWholeAs206);
  options_.retries = 0;  // starting over is not a retry of a broken transfer
  auto pulled = pull_ref("test-org/Tiny-GGUF:Q4_K_M");
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  const auto transfers = hub_.blob_requests(sha);
  ASSERT_EQ(transfers.size(), 2u);
  EXPECT_EQ(transfers[0].range, "bytes=5000-");
  EXPECT_EQ(transfers[1].range, "") << "the second attempt asks for the whole file";
  EXPECT_EQ(read_all(pulled->files.front()), q4_);
  EXPECT_NE(log().find("starting over"), std::string::npos) << log();
}

TEST_F(PullTest, AChecksumMismatchIsRejectedAndRemoved) {
  FakeHubFile bad("Bad-Q4_0.gguf", q8_);
  bad.published_sha256 = FakeHub::sha256_hex("something else");
  hub_.add_repo({"test-org/Bad-GGUF", kCommit, {bad}});
  auto pulled = pull_ref("test-org/Bad-GGUF:Q4_0");
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(pulled.error().message.find("Bad-Q4_0.gguf failed its checksum"), std::string::npos)
      << pulled.error().message;
  EXPECT_NE(pulled.error().message.find(FakeHub::sha256_hex(q8_)), std::string::npos) << "says what arrived";
  EXPECT_NE(pulled.error().message.find("the download was removed"), std::string::npos);
  EXPECT_EQ(blob_count("test-org/Bad-GGUF"), 0u);
  EXPECT_FALSE(fs::exists(repo_folder("test-org/Bad-GGUF") / "snapshots"));
}

TEST_F(PullTest, AGatedRepositoryWantsAToken) {
  hub_.add_repo({"test-org/Gated-GGUF", kCommit, {{"Gated-Q8_0.gguf", q8_}}, "hf_secret"});
  auto refused = pull_ref("test-org/Gated-GGUF:Q8_0");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("test-org/Gated-GGUF is gated"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("set HF_TOKEN"), std::string::npos);
  EXPECT_NE(refused.error().message.find(hub_.endpoint() + "/test-org/Gated-GGUF"), std::string::npos)
      << "points at the page where the licence is accepted";

  options_.hub.token = "hf_wrong";
  auto wrong = pull_ref("test-org/Gated-GGUF:Q8_0");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("the account of HF_TOKEN has no access"), std::string::npos)
      << wrong.error().message;

  options_.hub.token = "hf_secret";
  auto pulled = pull_ref("test-org/Gated-GGUF:Q8_0");
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(read_all(pulled->files.front()), q8_);
  EXPECT_EQ(hub_.requests().back().authorization, "Bearer hf_secret");
}

TEST_F(PullTest, UnknownRepositoriesAndFilesAreNamed) {
  auto repo = pull_ref("test-org/Nope-GGUF");
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.error().code, ErrorCode::kNotFound);
  EXPECT_NE(repo.error().message.find("no repository test-org/Nope-GGUF on " + hub_.endpoint()),
            std::string::npos)
      << repo.error().message;
  EXPECT_NE(repo.error().message.find("if it is private, set HF_TOKEN"), std::string::npos);
  auto file = pull_ref("test-org/Tiny-GGUF/Tiny-Q2_K.gguf");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
  EXPECT_NE(file.error().message.find("no file Tiny-Q2_K.gguf in test-org/Tiny-GGUF"), std::string::npos);
}

TEST_F(PullTest, AMissingQuantizationListsTheOnesThatExist) {
  auto pulled = pull_ref("test-org/Tiny-GGUF:Q5_K_M");
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, ErrorCode::kNotFound);
  EXPECT_NE(pulled.error().message.find("has no Q5_K_M model; it has Q4_K_M, Q8_0"), std::string::npos)
      << pulled.error().message;
  EXPECT_EQ(pulled.error().message.find("F16"), std::string::npos) << "the projector is not a quantization";
}

TEST_F(PullTest, AFileLargerThanTheFreeSpaceIsRefusedBeforeItStarts) {
  FakeHubFile huge{"Huge-Q4_K_M.gguf", q8_};
  huge.published_size = std::uint64_t{1} << 60;  // 1 EiB: more than any test machine's disk
  hub_.add_repo({"test-org/Huge-GGUF", kCommit, {huge}});
  auto pulled = pull_ref("test-org/Huge-GGUF:Q4_K_M");
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(pulled.error().message.find("not enough disk space: Huge-Q4_K_M.gguf needs 1073741824.00 GiB"),
            std::string::npos)
      << pulled.error().message;
  EXPECT_NE(pulled.error().message.find("HF_HOME"), std::string::npos);
  EXPECT_TRUE(hub_.blob_requests(FakeHub::sha256_hex(q8_)).empty()) << "nothing was downloaded";
}

TEST_F(PullTest, ADiskFullWriteSaysHowMuchIsMissing) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  // The .incomplete file is /dev/full, where every write fails with ENOSPC as on a full disk.
  const std::string sha = FakeHub::sha256_hex(q4_);
  fs::create_directories(repo_folder() / "blobs");
  fs::create_symlink("/dev/full", repo_folder() / "blobs" / (sha + ".incomplete"));
  auto pulled = pull_ref("test-org/Tiny-GGUF:Q4_K_M");
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(pulled.error().message.find("disk full while writing Tiny-Q4_K_M.gguf"), std::string::npos)
      << pulled.error().message;
  EXPECT_NE(pulled.error().message.find("256.2 KiB more needed"), std::string::npos)
      << pulled.error().message;
  EXPECT_FALSE(fs::exists(repo_folder() / "blobs" / sha));
}

TEST_F(PullTest, ASplitModelComesWithAllItsParts) {
  std::vector<FakeHubFile> files;
  std::vector<std::string> parts;
  for (int i = 1; i <= 3; ++i) {
    parts.push_back(tiny_gguf({.payload_floats = 2048, .seed = static_cast<std::uint32_t>(10 + i)}));
    files.push_back({"Q4_K_M/Big-Q4_K_M-0000" + std::to_string(i) + "-of-00003.gguf", parts.back()});
  }
  files.push_back({"Big-Q8_0.gguf", q8_});
  hub_.add_repo({"test-org/Big-GGUF", kCommit, files});
  auto pulled = pull_ref("test-org/Big-GGUF:Q4_K_M");
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  ASSERT_EQ(pulled->files.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(pulled->files[i], repo_folder("test-org/Big-GGUF") / "snapshots" / kCommit / files[i].path);
    EXPECT_EQ(fs::read_symlink(pulled->files[i]), fs::path("../../../blobs") / FakeHub::sha256_hex(parts[i]));
    EXPECT_EQ(read_all(pulled->files[i]), parts[i]);
  }
  EXPECT_EQ(blob_count("test-org/Big-GGUF"), 3u);
}

TEST_F(PullTest, AnUnreachableHubFallsBackToACompleteCachedCopy) {
  ASSERT_TRUE(pull_ref("test-org/Tiny-GGUF:Q4_K_M").ok());
  std::string closed;
  {
    FakeHub gone;  // a port that was listening a moment ago and no longer is
    closed = gone.endpoint();
  }
  options_.hub.endpoint = closed;
  auto cached = pull_ref("test-org/Tiny-GGUF:Q4_K_M");
  ASSERT_TRUE(cached.ok()) << cached.error().message;
  EXPECT_TRUE(cached->already_present);
  EXPECT_NE(cached->note.find("cannot reach " + closed), std::string::npos) << cached->note;
  EXPECT_NE(cached->note.find("using the copy already in the cache"), std::string::npos);
  auto missing = pull_ref("test-org/Tiny-GGUF:Q8_0");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
  EXPECT_NE(missing.error().message.find("cannot reach " + closed), std::string::npos)
      << missing.error().message;
}

}  // namespace
}  // namespace pensieve::hub
