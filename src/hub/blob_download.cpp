#include "hub/blob_download.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

#include "hub/disk_space.hpp"
#include "hub/sha256.hpp"
#include "memory/byte_size.hpp"

namespace pensieve::hub {
namespace fs = std::filesystem;
namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Bytes in a regular file at `path` (following a link); 0 when there is none or it is not one.
std::uint64_t regular_size(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

Error errno_error(const std::string& what) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

// Takes the blob's lock, waiting (and saying so) while another process holds it.
Result<std::unique_ptr<Fd>> lock_blob(const fs::path& lock_path, const std::string& label, std::FILE* out) {
  std::error_code ec;
  fs::create_directories(lock_path.parent_path(), ec);
  if (ec)
    return make_error(ErrorCode::kIo,
                      "cannot create " + lock_path.parent_path().string() + ": " + ec.message());
  auto fd = std::make_unique<Fd>(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd->get() < 0) return errno_error("cannot open " + lock_path.string());
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) == 0) return fd;
  if (errno != EWOULDBLOCK) return errno_error("cannot lock " + lock_path.string());
  std::fprintf(out, "%s: another download of this file is running; waiting for it\n", label.c_str());
  std::fflush(out);
  while (::flock(fd->get(), LOCK_EX) != 0) {
    if (errno != EINTR) return errno_error("cannot lock " + lock_path.string());
  }
  return fd;
}

// The state of one download across its attempts.
struct Download {
  Download(const RepoFile& f, fs::path partial) : file(f), incomplete(std::move(partial)) {}

  const RepoFile& file;
  fs::path incomplete;
  int fd = -1;
  std::uint64_t have = 0;  // bytes in the .incomplete file
  Sha256 hash;
  bool hashing = false;
  Error write_error;
  bool write_failed = false;
  bool misanswered_range = false;
  ProgressReporter* progress = nullptr;

  // Appends what arrived. A response that does not continue where the file stops starts it
  // over: a 200 (the whole file) is kept from its first byte; a 206 from elsewhere is dropped
  // and `misanswered_range` set, so the next attempt asks for the whole file.
  bool accept(const HttpReply& response, std::string_view bytes, bool& response_started) {
    const bool first = !response_started;
    response_started = true;
    if (first && have > 0 && !(response.status == 206 && range_start(response) == have)) {
      if (!start_over()) return false;
      if (response.status != 200) {
        misanswered_range = true;
        return false;
      }
    }
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == ENOSPC || errno == EDQUOT)) {
        const std::uint64_t missing = file.size > have ? file.size - have : 0;
        return fail(
            make_error(ErrorCode::kResourceExhausted,
                       "disk full while writing " + file.path + " to " + incomplete.parent_path().string() +
                           ": " + memory::format_bytes(have) + " of " + memory::format_bytes(file.size) +
                           " written, " + memory::format_bytes(missing) +
                           " more needed; free that much and run the pull again to resume (the partial "
                           "download is kept), or point HF_HOME at a disk with room"));
      }
      if (n <= 0) return fail(errno_error("cannot write " + incomplete.string()));
      if (hashing) hash.update(bytes.substr(0, static_cast<std::size_t>(n)));
      have += static_cast<std::uint64_t>(n);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    if (progress != nullptr) progress->update(have);
    return true;
  }

  bool start_over() {
    if (::ftruncate(fd, 0) != 0) return fail(errno_error("cannot truncate " + incomplete.string()));
    have = 0;
    hash.reset();
    return true;
  }

  // Where a 206's bytes start, from its Content-Range ("bytes 5000-9999/10000").
  static std::optional<std::uint64_t> range_start(const HttpReply& response) {
    const std::string range = response.header("content-range");
    if (!range.starts_with("bytes ")) return std::nullopt;
    const char* begin = range.c_str() + 6;
    char* end = nullptr;
    const unsigned long long start = std::strtoull(begin, &end, 10);
    if (end == begin || *end != '-') return std::nullopt;
    return start;
  }

  bool fail(Error error) {
    write_error = std::move(error);
    write_failed = true;
    return false;
  }
};

Status verify_and_install(Download& d, const fs::path& blob) {
  if (d.have != d.file.size) {
    std::error_code ec;
    fs::remove(d.incomplete, ec);
    return make_error(ErrorCode::kInvalidFormat, d.file.path + ": the hub sent " + std::to_string(d.have) +
                                                     " bytes where its file list says " +
                                                     std::to_string(d.file.size) +
                                                     "; the download was removed, run the pull again");
  }
  if (d.hashing) {
    const std::string got = d.hash.hex_digest();
    if (got != d.file.sha256) {
      std::error_code ec;
      fs::remove(d.incomplete, ec);
      return make_error(ErrorCode::kInvalidFormat,
                        d.file.path + " failed its checksum: the hub publishes SHA-256 " + d.file.sha256 +
                            ", the download has " + got +
                            "; the download was removed. Run the pull again (if it fails again, the copy "
                            "on the hub or a proxy on the way is at fault)");
    }
  }
  if (::fdatasync(d.fd) != 0 && errno != EINVAL) return errno_error("cannot flush " + d.incomplete.string());
  std::error_code ec;
  fs::rename(d.incomplete, blob, ec);
  if (ec)
    return make_error(ErrorCode::kIo, "cannot move the download to " + blob.string() + ": " + ec.message());
  return {};
}

}  // namespace

Result<BlobState> download_blob(HttpClient& http, const HubConfig& hub, const RepoCache& cache,
                                std::string_view repo, const RepoFile& file, const std::string& url,
                                const DownloadSettings& settings) {
  const fs::path blob = cache.blob(file.etag());
  if (fs::is_regular_file(blob) && regular_size(blob) == file.size) return BlobState::kAlreadyPresent;

  std::error_code ec;
  fs::create_directories(blob.parent_path(), ec);
  if (ec)
    return make_error(ErrorCode::kIo, "cannot create " + blob.parent_path().string() + ": " + ec.message());
  auto lock = lock_blob(cache.lock_file(file.etag()), file.path, settings.out);
  if (!lock) return lock.error();
  // Another process may have finished it while we waited for the lock.
  if (fs::is_regular_file(blob) && regular_size(blob) == file.size) return BlobState::kAlreadyPresent;
  if (fs::exists(blob)) fs::remove(blob, ec);  // a blob of the wrong size is not one

  Download d(file, cache.incomplete_blob(file.etag()));
  d.have = regular_size(d.incomplete);
  if (d.have > file.size) {
    fs::remove(d.incomplete, ec);
    d.have = 0;
  }
  PENSIEVE_TRY(check_free_space(blob.parent_path(), file.size - d.have, file.path));

  Fd fd(::open(d.incomplete.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd.get() < 0) return errno_error("cannot open " + d.incomplete.string());
  d.fd = fd.get();
  d.hashing = !file.sha256.empty();
  if (d.hashing && d.have > 0) PENSIEVE_TRY(hash_file_prefix(d.incomplete, d.have, d.hash));

  ProgressReporter progress(settings.out, settings.progress, file.path, file.size, d.have);
  d.progress = &progress;
  if (d.have > 0) progress.note("resuming after " + memory::format_bytes(d.have));
  for (int attempt = 0; d.have < file.size; ++attempt) {
    bool response_started = false;
    auto reply = http.download(url, d.have, [&](const HttpReply& response, std::string_view bytes) {
      return d.accept(response, bytes, response_started);
    });
    if (d.write_failed) {
      progress.finish(false);
      return d.write_error;
    }
    // Both start over without a range, which cannot go wrong the same way twice: a 206 that does
    // not continue the file, and 416 (the range lies past the server's end, so the partial file
    // was not a prefix of this blob).
    if (d.misanswered_range || (reply && reply->status == 416 && d.have > 0)) {
      d.misanswered_range = false;
      if (!d.start_over()) return d.write_error;
      progress.note("the server did not continue from the partial download; starting over");
      continue;
    }
    if (reply && (reply->status < 200 || reply->status >= 300)) {
      progress.finish(false);
      return http_failure(hub, *reply, repo, file.path);
    }
    if (reply && d.have >= file.size) break;
    // Broken off (or ended short without an error): go on from where it stopped.
    const std::string why = reply ? "the connection ended early" : reply.error().message;
    if (attempt >= settings.retries) {
      progress.finish(false);
      return make_error(ErrorCode::kIo, "downloading " + file.path + " failed at " +
                                            memory::format_bytes(d.have) + " of " +
                                            memory::format_bytes(file.size) + ": " + why +
                                            ". Run the pull again to resume from there");
    }
    progress.note(why + " at " + memory::format_bytes(d.have) + "; resuming");
    // The first retry goes at once (a dropped connection is the usual cause); later ones back off.
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1 << std::min(attempt - 1, 4)));
  }
  progress.finish(true);
  PENSIEVE_TRY(verify_and_install(d, blob));
  return BlobState::kDownloaded;
}

}  // namespace pensieve::hub
