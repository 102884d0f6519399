#include "hub/local_models.hpp"

#include <algorithm>

#include "hub/cache.hpp"
#include "hub/file_choice.hpp"
#include "hub/folder_files.hpp"
#include "hub/gguf_summary.hpp"

namespace pensieve::hub {
namespace fs = std::filesystem;
namespace {

// The shortest reference that picks `model` among `files`: the quantization tag when it is
// unambiguous, else the file's path.
std::string reference_for(const std::string& repo, const std::vector<RepoFile>& files,
                          const ModelFiles& model, const std::string& tag) {
  if (!tag.empty()) {
    auto picked = choose_files(files, Reference{repo, tag, ""});
    if (picked && picked->note.empty() && picked->parts.front().path == model.parts.front().path)
      return repo + ":" + tag;
  }
  return repo + "/" + model.parts.front().path;
}

void add_repo_models(const std::string& repo, const fs::path& dir, const std::vector<RepoFile>& files,
                     const std::string& source, std::vector<LocalModel>& out) {
  for (const ModelFiles& model : gguf_models(files)) {
    LocalModel m;
    m.source = source;
    const std::string tag = quantization_of(model.parts.front().path);
    m.reference = reference_for(repo, files, model, tag);
    for (const RepoFile& part : model.parts) {
      m.files.push_back(dir / part.path);
      m.size += part.size;
    }
    if (static_cast<int>(model.parts.size()) != model.declared_parts) {
      m.problem = "incomplete: " + std::to_string(model.parts.size()) + " of " +
                  std::to_string(model.declared_parts) + " parts";
    }
    auto summary = read_gguf_summary(m.files.front().string());
    if (summary) {
      m.architecture = summary->architecture;
      m.context_length = summary->context_length;
      m.quantization = !tag.empty() ? tag : summary->file_type;
    } else {
      m.quantization = tag;
      if (m.problem.empty()) m.problem = "unreadable: " + summary.error().message;
    }
    out.push_back(std::move(m));
  }
}

}  // namespace

std::vector<LocalModel> list_local_models(const fs::path& hf_cache_root,
                                          const std::vector<fs::path>& lmstudio_dirs) {
  std::vector<LocalModel> models;
  if (!hf_cache_root.empty()) {
    for (const std::string& repo : cached_repos(hf_cache_root)) {
      const RepoCache cache(hf_cache_root, repo);
      const auto commit = cache.current_commit();
      if (!commit) continue;
      add_repo_models(repo, cache.snapshot_dir(*commit), cache.snapshot_files(*commit), "huggingface",
                      models);
    }
  }
  for (const fs::path& dir : lmstudio_dirs) {
    // LM Studio keeps PUBLISHER/REPO/FILE.gguf, two levels of folders above the files.
    std::error_code ec;
    for (const auto& publisher : fs::directory_iterator(dir, ec)) {
      if (!publisher.is_directory(ec)) continue;
      for (const auto& repo : fs::directory_iterator(publisher.path(), ec)) {
        if (!repo.is_directory(ec)) continue;
        const std::string name = publisher.path().filename().string() + "/" + repo.path().filename().string();
        add_repo_models(name, repo.path(), files_under(repo.path()), "lmstudio", models);
      }
    }
  }
  std::stable_sort(models.begin(), models.end(), [](const LocalModel& a, const LocalModel& b) {
    return a.source != b.source ? a.source < b.source : a.reference < b.reference;
  });
  return models;
}

}  // namespace pensieve::hub
