// hub/sha256: the SHA-256 the hub publishes for LFS files, computed with OpenSSL's libcrypto
// while the bytes stream in (and over what a resumed download already holds).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace pensieve::hub {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  // Lower-case hex of everything updated since construction or reset(); the hash restarts after.
  std::string hex_digest();
  void reset();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Feeds the first `bytes` bytes of `path` into `hash` (what a resumed download already holds).
Status hash_file_prefix(const std::filesystem::path& path, std::uint64_t bytes, Sha256& hash);

}  // namespace pensieve::hub
