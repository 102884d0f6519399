// synth/synthesize: writes a whole synthetic model — metadata, tokenizer and random weights —
// streaming each tensor to disk in bounded runs of rows, so memory stays small whatever the size.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/result.hpp"
#include "synth/shapes.hpp"
#include "synth/weight_types.hpp"

namespace pensieve::synth {

struct SynthOptions {
  Shape shape;  // n_layer may be overridden by the caller
  WeightScheme scheme;
  std::uint64_t seed = 1;
  // A GGUF whose tokenizer.* keys are copied; its token count replaces the shape's n_vocab.
  // Empty: the built-in byte-level vocabulary, padded with filler tokens to the shape's n_vocab.
  std::string vocab_path;
  unsigned threads = 0;  // 0: one per hardware thread
};

struct SynthReport {
  std::string architecture;
  std::uint32_t n_layer = 0;
  std::uint32_t n_vocab = 0;
  std::uint64_t parameters = 0;  // values over all tensors
  std::size_t tensors = 0;
  std::uint64_t file_bytes = 0;
  std::map<std::string, std::size_t> tensors_by_type;  // "Q4_K" → count
  std::map<std::string, std::uint64_t> bytes_by_type;  // "Q4_K" → data bytes
  double seconds = 0;
};

// Writes the model to `out_path` (atomically: a reader never sees half a file).
Result<SynthReport> synthesize(const SynthOptions& options, const std::string& out_path);

}  // namespace pensieve::synth
