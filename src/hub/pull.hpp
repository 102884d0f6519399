// hub/pull: a reference's model from the Hugging Face hub into the local cache: list the
// repository at its current commit, choose the file(s), download what is missing (resumed and
// verified, see blob_download), link the snapshot and move refs/main. What is already complete
// is not fetched again.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "hub/hub_api.hpp"
#include "hub/progress.hpp"
#include "hub/reference.hpp"

namespace pensieve::hub {

struct PullOptions {
  HubConfig hub;
  std::filesystem::path cache_root;  // the hub cache folder (…/huggingface/hub)
  int retries = 3;                   // further attempts per file after a transfer breaks off
  ProgressStyle progress = ProgressStyle::kLines;
  std::FILE* out = stderr;  // progress and notes

  // The hub from HF_ENDPOINT/HF_TOKEN, the cache from HF_HUB_CACHE/HF_HOME, progress on stderr
  // (a bar when it is a terminal).
  static PullOptions from_environment();
};

struct PullResult {
  std::vector<std::filesystem::path> files;  // snapshot paths; the first is the one to open
  std::string commit;
  bool already_present = false;  // nothing needed downloading
  std::string note;              // how the file was chosen, or why the cached copy was used
};

Result<PullResult> pull(const Reference& ref, const PullOptions& options);

}  // namespace pensieve::hub
