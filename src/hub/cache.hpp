// hub/cache: the Hugging Face hub cache on disk, laid out as huggingface_hub documents it so that
// the Python library, llama.cpp and others find what pensieve pulled and the other way round:
//
//   <root>/models--ORG--REPO/blobs/<etag>                  the bytes (etag: SHA-256 for LFS files)
//   <root>/models--ORG--REPO/blobs/<etag>.incomplete       a download in progress, resumed from
//   <root>/models--ORG--REPO/snapshots/<commit>/<path>     relative symlink to ../../blobs/<etag>
//   <root>/models--ORG--REPO/refs/main                     the commit "main" pointed to
//   <root>/.locks/models--ORG--REPO/<etag>.lock            held while a blob is written
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "hub/file_choice.hpp"

namespace pensieve::hub {

// $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub, as huggingface_hub resolves it; empty when none can be named.
std::filesystem::path default_cache_root();

// "models--ORG--REPO".
std::string repo_folder_name(std::string_view repo);

class RepoCache {
 public:
  RepoCache(std::filesystem::path root, std::string_view repo);

  const std::filesystem::path& folder() const { return folder_; }
  std::filesystem::path blob(std::string_view etag) const;
  std::filesystem::path incomplete_blob(std::string_view etag) const;
  std::filesystem::path lock_file(std::string_view etag) const;
  std::filesystem::path snapshot_dir(std::string_view commit) const;
  std::filesystem::path snapshot_file(std::string_view commit, std::string_view path) const;

  // The commit refs/<name> holds, when the file exists and holds one.
  std::optional<std::string> read_ref(std::string_view name = "main") const;
  Status write_ref(std::string_view commit, std::string_view name = "main") const;

  // Points snapshots/<commit>/<path> at blobs/<etag> with a relative symlink, replacing what was
  // there; parent folders are created.
  Status link_snapshot(std::string_view commit, std::string_view path, std::string_view etag) const;

  // The commit an offline look-up reads: refs/main, else the newest snapshot folder.
  std::optional<std::string> current_commit() const;

  // The files of a snapshot whose content is present (a dangling link is left out), with sizes;
  // paths are relative to the snapshot folder.
  std::vector<RepoFile> snapshot_files(std::string_view commit) const;

 private:
  std::filesystem::path root_;
  std::filesystem::path folder_;
};

// The repositories in a cache root ("ORG/REPO"), from its models--ORG--REPO folders, sorted.
std::vector<std::string> cached_repos(const std::filesystem::path& root);

}  // namespace pensieve::hub
