// synth/weight_types: the --type choices and which tensor type each matrix of a model gets.
//
// A pure scheme (F16, Q8_0, Q4_K, …) stores every matrix in its type, like `llama-quantize
// --pure`, so a benchmark measures one kernel. The K-quant mixes (Q4_K_M, Q5_K_M) follow what
// llama.cpp's quantizer does for them: the output projection (token_embd when tied) in Q6_K,
// attn_v and ffn_down in Q6_K on the "more bits" layers, a few MoE tweaks, and the 32-block
// fallbacks for rows that are not a whole number of 256-value super-blocks. 1-D tensors and the
// MoE router are not matrices here: they stay F32, as converters write them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "tensor/type.hpp"

namespace pensieve::synth {

enum class Mix {
  kPure,          // every matrix in `base`
  kKQuantMedium,  // llama.cpp's *_K_M rules over `base`
};

struct WeightScheme {
  std::string_view name;    // as given to --type
  tensor::TensorType base;  // the type of most matrices
  Mix mix;
  std::uint32_t file_type;  // general.file_type (llama.cpp's llama_ftype numbering)
};

std::span<const WeightScheme> all_schemes();

// The scheme called `name` (case-insensitive); the error lists every valid name.
Result<WeightScheme> find_scheme(std::string_view name);

// "F32, F16, …" for help texts and errors.
std::string scheme_names();

// Which matrix of the model a tensor is.
enum class MatrixRole {
  kTokenEmbd,
  kOutput,
  kAttnQ,
  kAttnK,
  kAttnV,
  kAttnOutput,
  kFfnGate,
  kFfnUp,
  kFfnDown,
  kRouter,  // ffn_gate_inp: never quantized
  kGateExps,
  kUpExps,
  kDownExps,
};

struct MatrixSite {
  MatrixRole role;
  std::uint32_t layer = 0;       // block index; unused for token_embd and output
  std::uint64_t row_length = 0;  // dims[0]
};

struct ModelFacts {
  std::uint32_t n_layer = 0;
  std::uint32_t n_expert = 0;
  bool tied_embeddings = false;
};

// The tensor type the scheme gives this matrix.
tensor::TensorType choose_type(const WeightScheme& scheme, const MatrixSite& site, const ModelFacts& model);

// llama.cpp's "use more bits" layers: the first and last eighth, and every third in between.
bool use_more_bits(std::uint32_t layer, std::uint32_t n_layer);

// `wanted`, or the type an established quantizer falls back to when a row of `row_length` values
// is not a whole number of its blocks: Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, and F16 when even
// a 32-value block does not fit.
tensor::TensorType fallback_type(tensor::TensorType wanted, std::uint64_t row_length);

}  // namespace pensieve::synth
