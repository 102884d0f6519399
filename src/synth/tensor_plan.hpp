// synth/tensor_plan: every tensor of a synthetic model — GGUF name, dims (dims[0] the row length,
// as ggml orders them), type and how its values are made — in the order they are written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "synth/shapes.hpp"
#include "synth/weight_types.hpp"
#include "tensor/type.hpp"

namespace pensieve::synth {

enum class Fill {
  kRandom,       // normal-ish noise of standard deviation `scale`
  kConstant,     // every value `scale` (norm weights)
  kRopeFactors,  // the shape's llama3 rope_freqs
};

struct PlannedTensor {
  std::string name;
  std::vector<std::uint64_t> dims;
  tensor::TensorType type = tensor::TensorType::kF32;
  Fill fill = Fill::kRandom;
  float scale = 0.0f;

  std::uint64_t row_length() const { return dims[0]; }
  std::uint64_t element_count() const;
};

// Weights' standard deviation: the initializer_range of these models' configs.
inline constexpr float kWeightStd = 0.02f;
// Biases stay small beside the weights' contribution.
inline constexpr float kBiasStd = 0.01f;

// token_embd, rope_freqs (llama3 scaling only), the blocks in order, output_norm, output
// (untied only), with types from the scheme. Requires check_shape(shape) to pass.
std::vector<PlannedTensor> plan_tensors(const Shape& shape, const WeightScheme& scheme);

}  // namespace pensieve::synth
