#include "model/architecture.hpp"

#include <array>
#include <cstdlib>

namespace pensieve::model {
namespace {

using kernels::RopeStyle;

constexpr std::array kArchitectures = {
    ArchitectureInfo{Architecture::kLlama, "llama", RopeStyle::kNormal, false},
    ArchitectureInfo{Architecture::kQwen2, "qwen2", RopeStyle::kNeox, false},
    ArchitectureInfo{Architecture::kQwen3, "qwen3", RopeStyle::kNeox, false},
    ArchitectureInfo{Architecture::kQwen3Moe, "qwen3moe", RopeStyle::kNeox, true},
    ArchitectureInfo{Architecture::kPhi3, "phi3", RopeStyle::kNeox, false},
    ArchitectureInfo{Architecture::kGptOss, "gpt-oss", RopeStyle::kNeox, true, 2, false},
    ArchitectureInfo{Architecture::kGemma3, "gemma3", RopeStyle::kNeox, false, 6},
};

}  // namespace

std::optional<ArchitectureInfo> find_architecture(std::string_view name) {
  for (const auto& info : kArchitectures) {
    if (info.name == name) return info;
  }
  return std::nullopt;
}

const ArchitectureInfo& info_of(Architecture architecture) {
  for (const auto& info : kArchitectures) {
    if (info.architecture == architecture) return info;
  }
  std::abort();  // every enumerator has a row above
}

std::string_view supported_architecture_names() {
  return "llama, qwen2, qwen3, qwen3moe, phi3, gpt-oss, gemma3";
}

}  // namespace pensieve::model
