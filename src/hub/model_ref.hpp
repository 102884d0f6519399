// hub/model_ref: what every command does with its model argument. One function turns what the
// user typed into the GGUF file to open:
//
//   an existing file          that path, unchanged
//   ORG/REPO[:QUANT|/FILE]    the file in the Hugging Face cache, else in LM Studio's models
//                             folder (offline); with `pull` set, fetched from the hub when missing
//   anything else             an error that says what to run (`pensieve pull REF`)
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "hub/pull.hpp"

namespace pensieve::hub {

struct ResolveOptions {
  bool pull = false;         // fetch a reference that is not on this machine
  PullOptions pull_options;  // the hub and cache (also where the offline look-up reads)
  std::vector<std::filesystem::path> lmstudio_dirs;

  // The cache, hub and LM Studio folders from the environment (see PullOptions).
  static ResolveOptions from_environment(bool pull);
};

struct ResolvedModel {
  std::string path;   // the file to open (a split model's first part)
  std::string label;  // how to call it: the reference, or the path as given
  std::string note;   // how it was found, when worth saying ("pulled", the file choice), or ""
};

Result<ResolvedModel> resolve_model(std::string_view argument, const ResolveOptions& options);

// resolve_model with ResolveOptions::from_environment(pull): what commands call.
Result<ResolvedModel> resolve_model(std::string_view argument, bool pull);

}  // namespace pensieve::hub
