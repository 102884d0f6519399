#include "support/fake_hub.hpp"

#include <openssl/sha.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace pensieve::testing {
namespace {

constexpr std::size_t kTreePage = 2;
constexpr std::size_t kChunk = 16 << 10;

std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

std::string sha256_of(const FakeHubFile& f) {
  return f.published_sha256 ? *f.published_sha256 : FakeHub::sha256_hex(f.content);
}

std::uint64_t size_of(const FakeHubFile& f) {
  return f.published_size ? *f.published_size : f.content.size();
}

void error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  res.status = status;
  res.set_header("X-Error-Code", code);
  res.set_header("X-Error-Message", message);
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

}  // namespace

std::string FakeHub::sha256_hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return hex(digest, sizeof digest);
}

std::string FakeHub::git_blob_id(const std::string& bytes) {
  const std::string object =
      std::string("blob ") + std::to_string(bytes.size()) + std::string(1, '\0') + bytes;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(object.data()), object.size(), digest);
  return hex(digest, sizeof digest);
}

FakeHub::FakeHub() {
  server_.Get(R"(/api/models/([^/]+/[^/]+)/revision/main)", [this](const httplib::Request& req,
                                                                   httplib::Response& res) {
    std::lock_guard lock(mutex_);
    const FakeHubRepo* repo = find_repo(req.matches[1]);
    if (repo == nullptr) {
      error(res, 401, "RepoNotFound", "Repository not found");
    } else {
      nlohmann::json siblings = nlohmann::json::array();
      for (const auto& f : repo->files) siblings.push_back({{"rfilename", f.path}});
      res.set_content(nlohmann::json{{"id", repo->name},
                                     {"sha", repo->commit},
                                     {"gated", repo->gated_token.empty() ? nlohmann::json(false) : "manual"},
                                     {"siblings", siblings}}
                          .dump(),
                      "application/json");
    }
    record(req, res);
  });
  server_.Get(R"(/api/models/([^/]+/[^/]+)/tree/([0-9a-f]+))", [this](const httplib::Request& req,
                                                                      httplib::Response& res) {
    std::lock_guard lock(mutex_);
    const FakeHubRepo* repo = find_repo(req.matches[1]);
    if (repo == nullptr || req.matches[2] != repo->commit || req.get_param_value("recursive") != "true") {
      error(res, 404, "RevisionNotFound", "Invalid rev id");
      record(req, res);
      return;
    }
    const std::size_t cursor = req.has_param("cursor") ? std::stoul(req.get_param_value("cursor")) : 0;
    nlohmann::json page = nlohmann::json::array();
    for (std::size_t i = cursor; i < repo->files.size() && i < cursor + kTreePage; ++i) {
      const FakeHubFile& f = repo->files[i];
      nlohmann::json entry = {
          {"type", "file"}, {"path", f.path}, {"size", size_of(f)}, {"oid", git_blob_id(f.content)}};
      if (f.lfs) entry["lfs"] = {{"oid", sha256_of(f)}, {"size", size_of(f)}, {"pointerSize", 134}};
      page.push_back(entry);
    }
    if (cursor + kTreePage < repo->files.size()) {
      res.set_header("Link",
                     std::string("<") + endpoint() + "/api/models/" + repo->name + "/tree/" + repo->commit +
                         "?recursive=true&cursor=" + std::to_string(cursor + kTreePage) + ">; rel=\"next\"");
    }
    res.set_content(page.dump(), "application/json");
    record(req, res);
  });
  server_.Get(R"(/([^/]+/[^/]+)/resolve/([0-9a-f]+)/(.+))",
              [this](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard lock(mutex_);
                const FakeHubRepo* repo = find_repo(req.matches[1]);
                const FakeHubFile* file = nullptr;
                if (repo != nullptr) {
                  for (const auto& f : repo->files) {
                    if (f.path == req.matches[3]) file = &f;
                  }
                }
                if (repo == nullptr) {
                  error(res, 401, "RepoNotFound", "Repository not found");
                } else if (!repo->gated_token.empty() &&
                           req.get_header_value("Authorization") != "Bearer " + repo->gated_token) {
                  error(res, 401, "GatedRepo",
                        "Access to model " + repo->name +
                            " is restricted. You must have access to it and be authenticated.");
                } else if (file == nullptr || req.matches[2] != repo->commit) {
                  error(res, 404, "EntryNotFound", "Entry not found");
                } else if (file->lfs) {
                  res.status = 302;
                  res.set_header("Location", endpoint() + "/cdn/" + sha256_of(*file));
                  res.set_header("X-Repo-Commit", repo->commit);
                  res.set_header("X-Linked-Etag", std::string("\"") + sha256_of(*file) + "\"");
                  res.set_header("X-Linked-Size", std::to_string(size_of(*file)));
                } else {
                  res.set_header("ETag", std::string("\"") + git_blob_id(file->content) + "\"");
                  res.set_content(file->content, "application/octet-stream");
                }
                record(req, res);
              });
  server_.Get(R"(/cdn/([0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    const FakeHubFile* file = find_blob(req.matches[1]);
    if (file == nullptr) {
      res.status = 404;
      record(req, res);
      return;
    }
    std::uint64_t cut = UINT64_MAX;
    if (auto it = cuts_.find(req.matches[1]); it != cuts_.end() && it->second.times > 0) {
      cut = it->second.offset;
      --it->second.times;
    }
    // A copy: the provider runs after the handler, outside the lock.
    auto content = std::make_shared<const std::string>(file->content);
    if (ranges_ != Ranges::kHonour) {
      // httplib applies ranges to bodies of known length only, so a chunked one goes out whole;
      // its status is 206 when a range was asked for unless the handler sets one.
      if (ranges_ == Ranges::kIgnore) res.status = 200;
      res.set_chunked_content_provider("application/octet-stream",
                                       [content](std::size_t offset, httplib::DataSink& sink) {
                                         const std::size_t n = std::min(content->size() - offset, kChunk);
                                         if (n > 0 && !sink.write(content->data() + offset, n)) return false;
                                         if (offset + n == content->size()) sink.done();
                                         return true;
                                       });
      record(req, res);
      return;
    }
    // httplib answers a Range request with 206 and calls the provider for that range only.
    res.set_content_provider(content->size(), "application/octet-stream",
                             [content, cut](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                               const std::size_t end = std::min<std::uint64_t>(offset + length, cut);
                               if (offset < end) {
                                 const std::size_t n = std::min(end - offset, kChunk);
                                 if (!sink.write(content->data() + offset, n)) return false;
                                 if (offset + n < offset + length && offset + n >= cut) return false;
                                 return true;
                               }
                               return false;  // the cut: the connection closes mid-body
                             });
    record(req, res);
  });
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("the fake hub cannot listen on loopback");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // The socket already listens, but stop() is ignored until the loop runs: wait for it, so a hub
  // made and dropped at once still shuts down.
  while (!server_.is_running()) std::this_thread::yield();
}

FakeHub::~FakeHub() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

void FakeHub::add_repo(FakeHubRepo repo) {
  std::lock_guard lock(mutex_);
  repos_.push_back(std::move(repo));
}

void FakeHub::cut_after(const std::string& sha256, std::uint64_t offset, int times) {
  std::lock_guard lock(mutex_);
  cuts_[sha256] = Cut{offset, times};
}

void FakeHub::set_ranges(Ranges ranges) {
  std::lock_guard lock(mutex_);
  ranges_ = ranges;
}

std::string FakeHub::endpoint() const {
  return std::string("http://127.0.0.1:") + std::to_string(port_);
}

std::vector<FakeHubRequest> FakeHub::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<FakeHubRequest> FakeHub::blob_requests(const std::string& sha256) const {
  std::vector<FakeHubRequest> out;
  for (const auto& r : requests()) {
    if (r.path == "/cdn/" + sha256) out.push_back(r);
  }
  return out;
}

const FakeHubRepo* FakeHub::find_repo(const std::string& name) const {
  for (const auto& r : repos_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const FakeHubFile* FakeHub::find_blob(const std::string& sha256) const {
  for (const auto& r : repos_) {
    for (const auto& f : r.files) {
      if (f.lfs && sha256_of(f) == sha256) return &f;
    }
  }
  return nullptr;
}

void FakeHub::record(const httplib::Request& req, const httplib::Response& res) {
  requests_.push_back(
      {req.path, req.get_header_value("Range"), req.get_header_value("Authorization"), res.status});
}

}  // namespace pensieve::testing
