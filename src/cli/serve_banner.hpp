// cli/serve_banner: what `pensieve serve` says once it is ready — the model, its context and
// slots, the compute, the memory verdict, where it listens, and the one line that starts Claude
// Code on it — so that a user who just started it knows what runs and what to do next.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pensieve::cli {

struct ServeFacts {
  std::string model_id;
  std::string model_path;
  std::string architecture;
  std::uint64_t context = 0;  // per slot
  std::size_t slots = 0;
  std::uint64_t kv_pool_tokens = 0;
  std::string kv_type;
  unsigned threads = 0;
  std::string isa;
  std::string memory;  // the verdict of the load check
  std::string host;
  int port = 0;
  bool needs_key = false;
  std::optional<std::string> test_model_notice;
};

// The banner's lines, without timestamps.
std::vector<std::string> serve_banner(const ServeFacts& facts);

}  // namespace pensieve::cli
