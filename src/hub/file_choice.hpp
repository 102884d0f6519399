// hub/file_choice: which files of a repository a reference means.
//
// The same rules serve the hub's file list (pull) and a cached snapshot's files (offline look-up),
// so a reference picks the same file online and off:
//   - only .gguf files are models; multimodal projectors (mmproj) are never picked by tag;
//   - a split model (NAME-0000N-of-0000M.gguf) is one model: all its parts, in order;
//   - ":QUANT" matches the tag case-insensitively as a whole token of the path (Q4_K does not match
//     Q4_K_M); several matches are settled by the shortest path, and the choice says so;
//   - no tag: the only model, else Q4_K_M when there is one, else an error listing the tags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "hub/reference.hpp"

namespace pensieve::hub {

struct RepoFile {
  std::string path;        // inside the repository
  std::uint64_t size = 0;  // bytes
  std::string sha256;      // the LFS object id (lower-case hex), empty when not in LFS
  std::string git_oid;     // the git blob id, the cache's name for files not in LFS

  // The blob's name in the Hugging Face cache: the SHA-256 for LFS files, else the git blob id.
  const std::string& etag() const { return sha256.empty() ? git_oid : sha256; }
};

struct FileChoice {
  std::vector<RepoFile> parts;  // one file, or every part of a split model in order
  std::string note;             // when the pick was not the only candidate: what else matched
};

// kNotFound when nothing matches (the message lists what exists), kInvalidArgument when the
// reference leaves the choice open.
Result<FileChoice> choose_files(const std::vector<RepoFile>& files, const Reference& ref);

// The repository's models (projectors left out), each with its parts in order; a split model
// missing parts has fewer parts than declared_parts.
struct ModelFiles {
  std::string key;  // the file's path, or a split model's path without its -0000N-of-0000M.gguf
  std::vector<RepoFile> parts;
  int declared_parts = 1;
};
std::vector<ModelFiles> gguf_models(const std::vector<RepoFile>& files);

// The quantization tags of the repository's models, sorted, each once ("Q4_K_M", "UD-Q4_K_XL").
std::vector<std::string> list_quantizations(const std::vector<RepoFile>& files);

// The tag in one file's path ("" when none is recognised).
std::string quantization_of(const std::string& path);

}  // namespace pensieve::hub
