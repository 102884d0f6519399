#include "hub/cache.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "hub/folder_files.hpp"

namespace pensieve::hub {
namespace fs = std::filesystem;
namespace {

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

bool is_commit_like(std::string_view text) {
  return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

Status io_error(const std::string& what, const std::error_code& ec) {
  return make_error(ErrorCode::kIo, what + ": " + ec.message());
}

}  // namespace

fs::path default_cache_root() {
  if (const char* hub = env("HF_HUB_CACHE")) return hub;
  if (const char* hub = env("HUGGINGFACE_HUB_CACHE")) return hub;  // the older name, still honoured
  if (const char* home = env("HF_HOME")) return fs::path(home) / "hub";
  if (const char* xdg = env("XDG_CACHE_HOME")) return fs::path(xdg) / "huggingface" / "hub";
  if (const char* home = env("HOME")) return fs::path(home) / ".cache" / "huggingface" / "hub";
  return {};
}

std::string repo_folder_name(std::string_view repo) {
  std::string name = "models--";
  for (char c : repo) {
    if (c == '/') {
      name += "--";
    } else {
      name += c;
    }
  }
  return name;
}

RepoCache::RepoCache(fs::path root, std::string_view repo)
    : root_(std::move(root)), folder_(root_ / repo_folder_name(repo)) {}

fs::path RepoCache::blob(std::string_view etag) const {
  return folder_ / "blobs" / std::string(etag);
}

fs::path RepoCache::incomplete_blob(std::string_view etag) const {
  return folder_ / "blobs" / (std::string(etag) + ".incomplete");
}

fs::path RepoCache::lock_file(std::string_view etag) const {
  return root_ / ".locks" / folder_.filename() / (std::string(etag) + ".lock");
}

fs::path RepoCache::snapshot_dir(std::string_view commit) const {
  return folder_ / "snapshots" / std::string(commit);
}

fs::path RepoCache::snapshot_file(std::string_view commit, std::string_view path) const {
  return snapshot_dir(commit) / std::string(path);
}

std::optional<std::string> RepoCache::read_ref(std::string_view name) const {
  std::ifstream in(folder_ / "refs" / std::string(name));
  std::string commit;
  if (!in || !std::getline(in, commit)) return std::nullopt;
  while (!commit.empty() && (commit.back() == '\r' || commit.back() == ' ')) commit.pop_back();
  if (!is_commit_like(commit)) return std::nullopt;
  return commit;
}

Status RepoCache::write_ref(std::string_view commit, std::string_view name) const {
  const fs::path ref = folder_ / "refs" / std::string(name);
  std::error_code ec;
  fs::create_directories(ref.parent_path(), ec);
  if (ec) return io_error("cannot create " + ref.parent_path().string(), ec);
  // Written aside and renamed, so a reader never sees half a commit hash.
  const fs::path tmp = ref.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << commit;  // no newline: huggingface_hub writes the bare hash
    if (!out.flush()) return make_error(ErrorCode::kIo, "cannot write " + tmp.string());
  }
  fs::rename(tmp, ref, ec);
  if (ec) return io_error("cannot write " + ref.string(), ec);
  return {};
}

Status RepoCache::link_snapshot(std::string_view commit, std::string_view path, std::string_view etag) const {
  const fs::path link = snapshot_file(commit, path);
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  if (ec) return io_error("cannot create " + link.parent_path().string(), ec);
  // Relative, so the cache folder can be moved or mounted elsewhere: one ".." per folder below
  // the repository folder (snapshots/<commit>/ plus the file's own folders).
  fs::path target;
  const fs::path relative_dir = fs::path(path).parent_path();
  const auto depth = 2 + std::distance(relative_dir.begin(), relative_dir.end());
  for (auto i = 0; i < depth; ++i) target /= "..";
  target = target / "blobs" / std::string(etag);
  const fs::path tmp = link.string() + ".tmp" + std::to_string(::getpid());
  fs::remove(tmp, ec);
  fs::create_symlink(target, tmp, ec);
  if (ec) return io_error("cannot link " + link.string(), ec);
  fs::rename(tmp, link, ec);
  if (ec) return io_error("cannot link " + link.string(), ec);
  return {};
}

std::optional<std::string> RepoCache::current_commit() const {
  if (auto main = read_ref("main"); main && fs::is_directory(snapshot_dir(*main))) return main;
  std::optional<std::string> newest;
  fs::file_time_type newest_time{};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder_ / "snapshots", ec)) {
    if (!entry.is_directory(ec)) continue;
    const auto time = entry.last_write_time(ec);
    if (!newest || time > newest_time) {
      newest = entry.path().filename().string();
      newest_time = time;
    }
  }
  return newest;
}

std::vector<RepoFile> RepoCache::snapshot_files(std::string_view commit) const {
  return files_under(snapshot_dir(commit));
}

std::vector<std::string> cached_repos(const fs::path& root) {
  std::vector<std::string> repos;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("models--") || !entry.is_directory(ec)) continue;
    const std::string rest = name.substr(8);
    const std::size_t sep = rest.find("--");
    if (sep == std::string::npos) continue;  // a repository without an organisation: not ours to name
    repos.push_back(rest.substr(0, sep) + "/" + rest.substr(sep + 2));
  }
  std::sort(repos.begin(), repos.end());
  return repos;
}

}  // namespace pensieve::hub
