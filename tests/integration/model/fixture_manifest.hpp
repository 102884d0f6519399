// The fixture models and their expected logits, as listed in fixtures/models/manifest.json.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace pensieve::model::testing {

struct FixtureFile {
  std::string model;  // the manifest's model key ("llama", "qwen3", …)
  std::string file;   // "llama-q4_0.gguf"
  std::string path;   // absolute path: the shared file, or its copy derived at test time
  std::uint32_t vocab = 0;
  std::vector<std::int32_t> tokens;
  // Float files: the float64 reference. Quantized files: the float32 pass over their own
  // dequantized weights ("exact"), with peer_rms the tolerance scale.
  std::string expected_logits_path;
  std::optional<double> peer_rms;
  std::vector<std::int32_t> greedy_prompt;
  std::vector<std::int32_t> greedy_continuation;
  std::vector<double> greedy_margins;

  bool is_float() const { return !peer_rms.has_value(); }
};

// Every file of every model in the manifest; aborts the test binary if the manifest is unreadable.
const std::vector<FixtureFile>& fixture_files();

std::vector<float> read_floats(const std::string& path);

// gtest prints parameters with this instead of a byte dump.
inline void PrintTo(const FixtureFile& f, std::ostream* os) {
  *os << f.file;
}

// A gtest-safe name for a file ("llama_q4_k_m").
std::string test_name_of(const FixtureFile& f);

}  // namespace pensieve::model::testing
