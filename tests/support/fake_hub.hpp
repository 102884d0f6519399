// Test support: a Hugging Face hub on loopback, serving the endpoints `pensieve pull` uses with
// the hub's shapes and error headers, and recording every request it gets:
//
//   GET /api/models/ORG/REPO/revision/main    {"id", "sha", "siblings"}; an unknown repository
//                                             answers 401 + X-Error-Code: RepoNotFound, as the hub
//                                             does for anonymous callers
//   GET /api/models/ORG/REPO/tree/COMMIT      the file list with lfs.oid (SHA-256) and sizes, two
//                                             entries a page, linked by Link: rel="next"
//   GET /ORG/REPO/resolve/COMMIT/PATH         LFS files: 302 to /cdn/SHA256; others: the bytes.
//                                             A gated repository wants `Bearer <token>` (401
//                                             + X-Error-Code: GatedRepo without it)
//   GET /cdn/SHA256                           the bytes, Range requests honoured (by httplib)
//                                             unless set_ranges() says otherwise
//
// A file can publish a wrong checksum or size, and a download can be cut after a given offset
// (the server closes the connection mid-body).
#pragma once

#include <httplib.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pensieve::testing {

struct FakeHubFile {
  FakeHubFile(std::string p, std::string c, bool in_lfs = true)
      : path(std::move(p)), content(std::move(c)), lfs(in_lfs) {}

  std::string path;
  std::string content;
  bool lfs = true;
  std::optional<std::string> published_sha256;  // instead of the content's (a mismatch)
  std::optional<std::uint64_t> published_size;  // instead of the content's (e.g. too big to fit)
};

struct FakeHubRepo {
  FakeHubRepo(std::string n, std::string c, std::vector<FakeHubFile> f, std::string token = "")
      : name(std::move(n)), commit(std::move(c)), files(std::move(f)), gated_token(std::move(token)) {}

  std::string name;    // ORG/REPO
  std::string commit;  // 40 hex digits
  std::vector<FakeHubFile> files;
  std::string gated_token;  // non-empty: resolve wants this token
};

struct FakeHubRequest {
  std::string path;
  std::string range;          // the Range header, or ""
  std::string authorization;  // the Authorization header, or ""
  int status = 0;
};

class FakeHub {
 public:
  FakeHub();
  ~FakeHub();
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  void add_repo(FakeHubRepo repo);
  // The next `times` transfers of the blob `sha256` stop after byte `offset` of the file.
  void cut_after(const std::string& sha256, std::uint64_t offset, int times = 1);

  // How blob requests with a Range header are answered.
  enum class Ranges {
    kHonour,      // 206 with the range (httplib's handling)
    kIgnore,      // 200 with the whole file, as some proxies do
    kWholeAs206,  // 206 without Content-Range and the whole file: a broken server
  };
  void set_ranges(Ranges ranges);

  std::string endpoint() const;  // http://127.0.0.1:PORT
  std::vector<FakeHubRequest> requests() const;
  // The requests for one blob's bytes (GET /cdn/SHA256), in order.
  std::vector<FakeHubRequest> blob_requests(const std::string& sha256) const;

  static std::string sha256_hex(const std::string& bytes);
  static std::string git_blob_id(const std::string& bytes);

 private:
  struct Cut {
    std::uint64_t offset;
    int times;
  };
  const FakeHubRepo* find_repo(const std::string& name) const;
  const FakeHubFile* find_blob(const std::string& sha256) const;
  void record(const httplib::Request& req, const httplib::Response& res);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::vector<FakeHubRepo> repos_;
  std::map<std::string, Cut> cuts_;
  Ranges ranges_ = Ranges::kHonour;
  std::vector<FakeHubRequest> requests_;
};

}  // namespace pensieve::testing
