// hub/folder_files: a folder's files as a repository listing, so a snapshot or an LM Studio
// folder goes through the same file choice as the hub's own list.
#pragma once

#include <filesystem>
#include <vector>

#include "hub/file_choice.hpp"

namespace pensieve::hub {

// The regular files under `dir`, links followed (a snapshot's links to blobs count, dangling
// ones do not), with paths relative to `dir`, sorted, and their sizes.
std::vector<RepoFile> files_under(const std::filesystem::path& dir);

}  // namespace pensieve::hub
