// model: turns a GGUF file into something that computes logits. It reads hyperparameters from
// metadata, binds and shape-checks every weight tensor, and runs the forward pass of the
// supported transformer families over a per-sequence KV cache.
//
// model/architecture: the families we run and the one fact about each that metadata does not
// state (the RoPE layout its converter produced).
#pragma once

#include <optional>
#include <string_view>

#include "kernels/rope.hpp"

namespace pensieve::model {

enum class Architecture { kLlama, kQwen2, kQwen3, kQwen3Moe, kPhi3 };

struct ArchitectureInfo {
  Architecture architecture;
  std::string_view name;  // the value of general.architecture and the metadata key prefix
  kernels::RopeStyle rope_style;
  bool mixture_of_experts;
};

std::optional<ArchitectureInfo> find_architecture(std::string_view name);
const ArchitectureInfo& info_of(Architecture architecture);

// "llama, qwen2, …" for error messages.
std::string_view supported_architecture_names();

}  // namespace pensieve::model
