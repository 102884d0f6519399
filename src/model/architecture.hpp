// model: turns a GGUF file into something that computes logits. It reads hyperparameters from
// metadata, binds and shape-checks every weight tensor, and runs the forward pass of the
// supported transformer families over a per-sequence KV cache.
//
// model/architecture: the families we run and the facts about each that metadata does not state
// (the RoPE layout its converter produced, which layers slide their attention window, whether its
// YaRN rounds the ramp).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "kernels/rope.hpp"

namespace pensieve::model {

enum class Architecture { kLlama, kQwen2, kQwen3, kQwen3Moe, kPhi3, kGptOss, kGemma3 };

struct ArchitectureInfo {
  Architecture architecture;
  std::string_view name;  // the value of general.architecture and the metadata key prefix
  kernels::RopeStyle rope_style;
  bool mixture_of_experts;
  // 0: every layer attends within attention.sliding_window (when the file sets one); else layer l
  // does so when l % sliding_period < sliding_period − 1, and the others see every position.
  std::uint32_t sliding_period = 0;
  // YaRN's ramp ends rounded to whole dims; gpt-oss's released config says truncate: false.
  bool yarn_truncate = true;
};

std::optional<ArchitectureInfo> find_architecture(std::string_view name);
const ArchitectureInfo& info_of(Architecture architecture);

// "llama, qwen2, …" for error messages.
std::string_view supported_architecture_names();

}  // namespace pensieve::model
