// hub/local_models: the models on this machine that a reference can name, for `pensieve list`:
// the Hugging Face cache's snapshots and LM Studio's models folders, each model with what its
// GGUF header says.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace pensieve::hub {

struct LocalModel {
  std::string reference;  // what to pass as a model argument: ORG/REPO:QUANT, else ORG/REPO/FILE
  std::string source;     // "huggingface" or "lmstudio"
  std::vector<std::filesystem::path> files;  // the file, or a split model's parts in order
  std::uint64_t size = 0;                    // bytes, all parts together
  std::string quantization;
  std::string architecture;
  std::uint64_t context_length = 0;
  std::string problem;  // why the model cannot be used as it is ("" when it can)
};

// Sorted by source, then reference.
std::vector<LocalModel> list_local_models(const std::filesystem::path& hf_cache_root,
                                          const std::vector<std::filesystem::path>& lmstudio_dirs);

}  // namespace pensieve::hub
