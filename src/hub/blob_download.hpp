// hub/blob_download: one file from the hub into the cache's blobs folder, the careful way.
//
//   - resumes: bytes already in blobs/<etag>.incomplete (ours or huggingface_hub's, the same
//     name) are kept and the rest asked for with a Range header; a server that ignores the range
//     and sends the whole file is followed from the start;
//   - retries a transfer that breaks off, from where it stopped;
//   - verifies the SHA-256 the hub publishes for LFS files; a mismatch removes the download;
//   - checks the free space before it starts and says how much is missing when a write hits ENOSPC;
//   - holds .locks/…/<etag>.lock (flock, as huggingface_hub does) so two pulls never write one blob;
//   - renames .incomplete to the blob only when the bytes are all there and verified.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "core/result.hpp"
#include "hub/cache.hpp"
#include "hub/file_choice.hpp"
#include "hub/http_client.hpp"
#include "hub/hub_api.hpp"
#include "hub/progress.hpp"

namespace pensieve::hub {

struct DownloadSettings {
  int retries = 3;  // further attempts after a transfer breaks off
  ProgressStyle progress = ProgressStyle::kLines;
  std::FILE* out = stderr;  // progress and notes
};

enum class BlobState { kAlreadyPresent, kDownloaded };

// Fetches `file` (at `url`) into `cache`'s blob for it.
Result<BlobState> download_blob(HttpClient& http, const HubConfig& hub, const RepoCache& cache,
                                std::string_view repo, const RepoFile& file, const std::string& url,
                                const DownloadSettings& settings);

}  // namespace pensieve::hub
