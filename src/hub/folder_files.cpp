#include "hub/folder_files.hpp"

#include <algorithm>

namespace pensieve::hub {
namespace fs = std::filesystem;

std::vector<RepoFile> files_under(const fs::path& dir) {
  std::vector<RepoFile> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code status_ec;
    if (!fs::is_regular_file(it->path(), status_ec)) continue;
    const auto size = fs::file_size(it->path(), status_ec);
    if (status_ec) continue;
    // Lexically: fs::relative would resolve a snapshot's link into ../../blobs/<etag>.
    files.push_back(RepoFile{it->path().lexically_relative(dir).generic_string(), size, "", ""});
  }
  std::sort(files.begin(), files.end(), [](const RepoFile& a, const RepoFile& b) { return a.path < b.path; });
  return files;
}

}  // namespace pensieve::hub
