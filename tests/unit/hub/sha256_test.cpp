#include "hub/sha256.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "temp_dir.hpp"

namespace pensieve::hub {
namespace {

TEST(Sha256Test, MatchesTheStandardVectors) {
  Sha256 h;
  EXPECT_EQ(h.hex_digest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // hex_digest restarts the hash.
  h.update("abc");
  EXPECT_EQ(h.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, HashesAFilePrefix) {
  const auto dir = testing::make_test_dir("pensieve-sha");
  const auto path = dir / "f";
  std::ofstream(path) << "abcdef";
  Sha256 h;
  ASSERT_TRUE(hash_file_prefix(path, 3, h).ok());
  EXPECT_EQ(h.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_FALSE(hash_file_prefix(path, 7, h).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pensieve::hub
