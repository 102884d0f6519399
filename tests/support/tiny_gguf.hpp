// Test support: small but valid GGUF images made with our writer, carrying the header facts
// `pensieve list` shows and a tensor of pseudo-random bytes to give them some size.
#pragma once

#include <cstdint>
#include <string>

namespace pensieve::testing {

struct TinyGguf {
  std::string architecture = "llama";
  std::string name = "tiny";
  std::uint64_t context_length = 4096;
  std::uint32_t file_type = 15;           // llama.cpp's Q4_K_M
  std::size_t payload_floats = 16 << 10;  // 64 KiB of tensor data
  std::uint32_t seed = 1;
};

std::string tiny_gguf(const TinyGguf& spec);

// Writes `bytes` to `path`, creating its folders.
void write_file(const std::string& path, const std::string& bytes);

}  // namespace pensieve::testing
