#include "hub/sha256.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <vector>

namespace pensieve::hub {

struct Sha256::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  reset();
}
Sha256::~Sha256() = default;

void Sha256::reset() {
  EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr);
}

void Sha256::update(std::string_view bytes) {
  EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

std::string Sha256::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(state_->ctx, digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  reset();
  return hex;
}

Status hash_file_prefix(const std::filesystem::path& path, std::uint64_t bytes, Sha256& hash) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!in) return make_error(ErrorCode::kIo, "cannot read " + path.string());
  std::vector<char> buffer(std::size_t{1} << 20);
  while (bytes > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(bytes, buffer.size()));
    const std::size_t got = std::fread(buffer.data(), 1, want, in.get());
    if (got == 0)
      return make_error(ErrorCode::kIo, "cannot read " + path.string() + ": shorter than expected");
    hash.update({buffer.data(), got});
    bytes -= got;
  }
  return {};
}

}  // namespace pensieve::hub
