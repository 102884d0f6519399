// hub/local_lookup: finding a reference's files on this machine, without the network: in the
// Hugging Face cache (the snapshot refs/main names) and in LM Studio's models folders
// (PUBLISHER/REPO/FILE.gguf, which for models from the hub is ORG/REPO). The choice follows
// hub/file_choice, so a reference picks the same file here as `pull` would on the hub.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "hub/reference.hpp"

namespace pensieve::hub {

struct LocalMatch {
  std::vector<std::filesystem::path> files;  // the model's file, or its split parts in order
  std::string commit;                        // the snapshot's commit (empty outside the HF cache)
  std::string note;                          // what else matched, when the choice was not unique
};

// kNotFound when the repository or the file is not in the cache (the message says which).
Result<LocalMatch> find_in_hf_cache(const std::filesystem::path& root, const Reference& ref);

// The same in a folder laid out as LM Studio's: <dir>/ORG/REPO/….
Result<LocalMatch> find_in_models_folder(const std::filesystem::path& dir, const Reference& ref);

// LM Studio's models folders that exist: ~/.lmstudio/models and ~/.cache/lm-studio/models.
std::vector<std::filesystem::path> lmstudio_model_dirs();

}  // namespace pensieve::hub
