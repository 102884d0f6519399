#include "hub/pull.hpp"

#include <unistd.h>

#include "hub/blob_download.hpp"
#include "hub/cache.hpp"
#include "hub/disk_space.hpp"
#include "hub/file_choice.hpp"
#include "hub/http_client.hpp"
#include "hub/local_lookup.hpp"

namespace pensieve::hub {
namespace fs = std::filesystem;
namespace {

bool regular_file_of_size(const fs::path& path, std::uint64_t size) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && fs::file_size(path, ec) == size && !ec;
}

// What the missing parts still need on disk, counting what their .incomplete files hold.
std::uint64_t bytes_to_fetch(const RepoCache& cache, const std::vector<RepoFile>& parts) {
  std::uint64_t needed = 0;
  for (const RepoFile& part : parts) {
    if (regular_file_of_size(cache.blob(part.etag()), part.size)) continue;
    std::error_code ec;
    const auto partial = fs::file_size(cache.incomplete_blob(part.etag()), ec);
    needed += part.size - (ec || partial > part.size ? 0 : partial);
  }
  return needed;
}

}  // namespace

PullOptions PullOptions::from_environment() {
  PullOptions options;
  options.hub = HubConfig::from_environment();
  options.cache_root = default_cache_root();
  options.progress = ::isatty(STDERR_FILENO) ? ProgressStyle::kBar : ProgressStyle::kLines;
  return options;
}

Result<PullResult> pull(const Reference& ref, const PullOptions& options) {
  if (options.cache_root.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "no cache folder: set HF_HOME (or HF_HUB_CACHE, or HOME) to say where models go");
  }
  HttpClient http(options.hub.token);
  auto listing = fetch_listing(http, options.hub, ref.repo);
  if (!listing) {
    // Unreachable or failing hub: a complete cached copy still serves (an answer like 401 or 404
    // is the hub's word on the reference and is reported as it is).
    if (listing.error().code == ErrorCode::kIo) {
      if (auto cached = find_in_hf_cache(options.cache_root, ref)) {
        PullResult result{cached->files, cached->commit, true,
                          listing.error().message + "; using the copy already in the cache"};
        return result;
      }
    }
    return listing.error();
  }
  auto choice = choose_files(listing->files, ref);
  if (!choice) return choice.error();
  if (!choice->note.empty()) std::fprintf(options.out, "%s\n", choice->note.c_str());

  const RepoCache cache(options.cache_root, ref.repo);
  std::error_code ec;
  fs::create_directories(cache.folder() / "blobs", ec);
  if (ec)
    return make_error(ErrorCode::kIo,
                      "cannot create " + (cache.folder() / "blobs").string() + ": " + ec.message());
  // All parts of a split model must fit before the first one starts.
  const std::string what = choice->parts.size() == 1
                               ? choice->parts.front().path
                               : ref.to_string() + " (" + std::to_string(choice->parts.size()) + " parts)";
  PENSIEVE_TRY(check_free_space(cache.folder() / "blobs", bytes_to_fetch(cache, choice->parts), what));

  PullResult result;
  result.commit = listing->commit;
  result.note = choice->note;
  result.already_present = true;
  const DownloadSettings settings{options.retries, options.progress, options.out};
  for (const RepoFile& part : choice->parts) {
    const std::string url = file_url(options.hub, ref.repo, listing->commit, part.path);
    auto state = download_blob(http, options.hub, cache, ref.repo, part, url, settings);
    if (!state) return state.error();
    const fs::path link = cache.snapshot_file(listing->commit, part.path);
    if (*state == BlobState::kDownloaded || !regular_file_of_size(link, part.size)) {
      result.already_present = result.already_present && *state == BlobState::kAlreadyPresent;
      PENSIEVE_TRY(cache.link_snapshot(listing->commit, part.path, part.etag()));
    }
    result.files.push_back(link);
  }
  PENSIEVE_TRY(cache.write_ref(listing->commit));
  return result;
}

}  // namespace pensieve::hub
