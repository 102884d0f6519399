// synth: random-weight GGUF models with the shapes of real ones, so the engine can be benchmarked
// on realistic sizes without downloading weights. A file carries the metadata keys, tensor names
// and quantization mix a converter and an established quantizer would write, a usable tokenizer
// and a chat template; only the weights are noise.
//
// synth/shapes: the hyperparameters of the models we imitate, as their config.json and GGUF
// metadata state them, plus tiny shapes for fast tests.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "model/architecture.hpp"

namespace pensieve::synth {

// Llama 3.1/3.2 ("rope_type": "llama3") stretch the low RoPE frequencies; converters bake the
// stretch into a rope_freqs.weight tensor of per-frequency divisors.
struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  std::uint32_t original_context = 8192;
};

struct Shape {
  std::string name;
  model::Architecture architecture = model::Architecture::kLlama;
  std::uint32_t n_layer = 0;
  std::uint32_t n_embd = 0;
  // Dense feed-forward width. MoE configs state one too (unused by their blocks); it is written
  // to the metadata as converters do.
  std::uint32_t n_ff = 0;
  std::uint32_t n_head = 0;
  std::uint32_t n_head_kv = 0;
  std::uint32_t head_dim = 0;
  std::uint32_t n_vocab = 0;
  std::uint32_t n_ctx = 0;
  double rope_freq_base = 10000.0;
  float rms_norm_eps = 1e-5f;
  bool tied_embeddings = false;  // no output.weight: the output projection reuses token_embd
  std::uint32_t n_expert = 0;    // 0 for dense models
  std::uint32_t n_expert_used = 0;
  std::uint32_t n_ff_expert = 0;
  std::optional<Llama3RopeScaling> llama3_rope;
  std::string pre_tokenizer = "qwen2";  // of the built-in vocabulary: the family's own splitter

  bool is_moe() const { return n_expert > 0; }
  bool has_qkv_bias() const { return architecture == model::Architecture::kQwen2; }
  bool has_qk_norm() const {
    return architecture == model::Architecture::kQwen3 || architecture == model::Architecture::kQwen3Moe;
  }
  std::uint32_t q_dim() const { return n_head * head_dim; }
  std::uint32_t kv_dim() const { return n_head_kv * head_dim; }
};

// Every built-in shape, in the order --help lists them.
std::span<const Shape> all_shapes();

// The shape called `name`; the error lists every valid name.
Result<Shape> find_shape(std::string_view name);

// "tiny-llama, llama3.2-1b, …" for help texts and errors.
std::string shape_names();

// Whether synth can write `shape` and our loader would accept the result: a supported family
// (phi3's fused tensors are not synthesized), positive sizes, heads dividing evenly.
Status check_shape(const Shape& shape);

}  // namespace pensieve::synth
