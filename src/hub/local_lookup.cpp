#include "hub/local_lookup.hpp"

#include <algorithm>
#include <cstdlib>

#include "hub/cache.hpp"
#include "hub/file_choice.hpp"
#include "hub/folder_files.hpp"

namespace pensieve::hub {
namespace fs = std::filesystem;
namespace {

Result<LocalMatch> match(const fs::path& dir, const std::vector<RepoFile>& files, const Reference& ref,
                         std::string commit) {
  auto choice = choose_files(files, ref);
  if (!choice) return choice.error();
  LocalMatch found;
  for (const RepoFile& part : choice->parts) found.files.push_back(dir / part.path);
  found.commit = std::move(commit);
  found.note = std::move(choice->note);
  return found;
}

}  // namespace

Result<LocalMatch> find_in_hf_cache(const fs::path& root, const Reference& ref) {
  const RepoCache cache(root, ref.repo);
  if (!fs::is_directory(cache.folder())) {
    return make_error(ErrorCode::kNotFound,
                      ref.repo + " is not in the Hugging Face cache (" + root.string() + ")");
  }
  const auto commit = cache.current_commit();
  if (!commit) {
    return make_error(ErrorCode::kNotFound, ref.repo + " has no snapshot in " + cache.folder().string());
  }
  return match(cache.snapshot_dir(*commit), cache.snapshot_files(*commit), ref, *commit);
}

Result<LocalMatch> find_in_models_folder(const fs::path& dir, const Reference& ref) {
  const fs::path repo_dir = dir / ref.repo;
  if (!fs::is_directory(repo_dir)) {
    return make_error(ErrorCode::kNotFound, ref.repo + " is not in " + dir.string());
  }
  return match(repo_dir, files_under(repo_dir), ref, "");
}

std::vector<fs::path> lmstudio_model_dirs() {
  std::vector<fs::path> dirs;
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return dirs;
  for (const fs::path& dir :
       {fs::path(home) / ".lmstudio" / "models", fs::path(home) / ".cache" / "lm-studio" / "models"}) {
    std::error_code ec;
    if (fs::is_directory(dir, ec)) dirs.push_back(dir);
  }
  return dirs;
}

}  // namespace pensieve::hub
