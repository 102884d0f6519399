#include "hub/hub_api.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace pensieve::hub {
namespace {

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

std::string saved_token() {
  std::filesystem::path path;
  if (const char* p = env("HF_TOKEN_PATH")) {
    path = p;
  } else if (const char* home = env("HF_HOME")) {
    path = std::filesystem::path(home) / "token";
  } else if (const char* xdg = env("XDG_CACHE_HOME")) {
    path = std::filesystem::path(xdg) / "huggingface" / "token";
  } else if (const char* h = env("HOME")) {
    path = std::filesystem::path(h) / ".cache" / "huggingface" / "token";
  } else {
    return {};
  }
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

// Percent-encodes a repository path for a URL, keeping its slashes.
std::string encode_path(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The URL in a Link header's rel="next" entry, or "".
std::string next_page(const std::string& link) {
  std::size_t at = 0;
  while ((at = link.find('<', at)) != std::string::npos) {
    const std::size_t close = link.find('>', at);
    if (close == std::string::npos) break;
    const std::size_t end = link.find(',', close);
    const std::string params =
        link.substr(close + 1, end == std::string::npos ? std::string::npos : end - close - 1);
    if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos)
      return link.substr(at + 1, close - at - 1);
    at = close;
  }
  return {};
}

std::string hub_message(const HttpReply& reply) {
  if (std::string m = reply.header("x-error-message"); !m.empty()) return m;
  auto json = nlohmann::json::parse(reply.body, nullptr, false);
  if (json.is_object() && json.contains("error") && json["error"].is_string()) return json["error"];
  return {};
}

Result<nlohmann::json> parse_json(const HttpReply& reply, const std::string& what) {
  auto json = nlohmann::json::parse(reply.body, nullptr, false);
  if (json.is_discarded()) {
    return make_error(ErrorCode::kInvalidFormat,
                      what + " from " + reply.url + " is not JSON (is HF_ENDPOINT a hub?)");
  }
  return json;
}

Result<RepoFile> parse_entry(const nlohmann::json& entry) {
  RepoFile file;
  if (!entry.is_object() || !entry.contains("path") || !entry["path"].is_string())
    return make_error(ErrorCode::kInvalidFormat, "a tree entry without a path");
  file.path = entry["path"];
  file.size = entry.value("size", std::uint64_t{0});
  file.git_oid = entry.value("oid", std::string());
  if (auto lfs = entry.find("lfs"); lfs != entry.end() && lfs->is_object()) {
    file.sha256 = lfs->value("oid", std::string());
    // Older answers prefixed it with the algorithm: "sha256:…".
    if (file.sha256.starts_with("sha256:")) file.sha256 = file.sha256.substr(7);
    file.size = lfs->value("size", file.size);
  }
  const auto hex = [](const std::string& s, std::size_t length) {
    return s.size() == length &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
  };
  if (!file.sha256.empty() && !hex(file.sha256, 64))
    return make_error(ErrorCode::kInvalidFormat, file.path + ": the LFS oid is not a SHA-256");
  if (file.sha256.empty() && !hex(file.git_oid, 40))
    return make_error(ErrorCode::kInvalidFormat, file.path + ": no usable object id");
  return file;
}

}  // namespace

HubConfig HubConfig::from_environment() {
  HubConfig hub;
  if (const char* endpoint = env("HF_ENDPOINT")) hub.endpoint = endpoint;
  while (hub.endpoint.size() > 1 && hub.endpoint.back() == '/') hub.endpoint.pop_back();
  if (const char* token = env("HF_TOKEN")) {
    hub.token = token;
  } else if (const char* legacy = env("HUGGING_FACE_HUB_TOKEN")) {
    hub.token = legacy;
  } else {
    hub.token = saved_token();
  }
  return hub;
}

std::string file_url(const HubConfig& hub, std::string_view repo, std::string_view commit,
                     std::string_view path) {
  return hub.endpoint + "/" + std::string(repo) + "/resolve/" + std::string(commit) + "/" + encode_path(path);
}

Error network_failure(const HubConfig& hub, const Error& error) {
  return make_error(ErrorCode::kIo, "cannot reach " + hub.endpoint + ": " + error.message +
                                        " (check the network connection, or the proxy in https_proxy; "
                                        "HF_ENDPOINT chooses another hub)");
}

Error http_failure(const HubConfig& hub, const HttpReply& reply, std::string_view repo_view,
                   std::string_view path) {
  const std::string repo(repo_view);
  const std::string code = reply.header("x-error-code");
  const std::string message = hub_message(reply);
  const std::string status = std::to_string(reply.status);
  const std::string page = hub.endpoint + "/" + repo;
  const std::string said = message.empty() ? "" : " (the hub said: " + message + ")";
  const bool gated = code == "GatedRepo" || message.find("gated") != std::string::npos ||
                     message.find("restricted") != std::string::npos;
  if (reply.status == 401 || reply.status == 403) {
    if (gated) {
      if (hub.token.empty()) {
        return make_error(ErrorCode::kInvalidArgument,
                          repo + " is gated: accept its licence at " + page +
                              " while logged in, then set HF_TOKEN to an access token of that account "
                              "(https://huggingface.co/settings/tokens)" +
                              said);
      }
      return make_error(ErrorCode::kInvalidArgument, "the account of HF_TOKEN has no access to " + repo +
                                                         " yet: accept its licence at " + page + said);
    }
    if (code == "RepoNotFound") {
      return make_error(ErrorCode::kNotFound,
                        "no repository " + repo + " on " + hub.endpoint +
                            (hub.token.empty() ? " (if it is private, set HF_TOKEN)" : "") + said);
    }
    if (hub.token.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "the hub refused access to " + repo + " (" + status +
                            "): set HF_TOKEN to an access token (https://huggingface.co/settings/tokens)" +
                            said);
    }
    return make_error(ErrorCode::kInvalidArgument,
                      "the hub refused the token in HF_TOKEN for " + repo + " (" + status +
                          "): check that it is valid and can read " + repo + said);
  }
  if (reply.status == 404) {
    if (code == "EntryNotFound" || (!path.empty() && code != "RepoNotFound" && code != "RevisionNotFound")) {
      return make_error(ErrorCode::kNotFound, "no file " + std::string(path) + " in " + repo + said);
    }
    if (code == "RevisionNotFound")
      return make_error(ErrorCode::kNotFound, repo + " has no branch main" + said);
    return make_error(ErrorCode::kNotFound, "no repository " + repo + " on " + hub.endpoint + said);
  }
  if (reply.status == 429) {
    return make_error(ErrorCode::kResourceExhausted,
                      "the hub is limiting requests (429): wait a minute and run the command again"
                      " (a token in HF_TOKEN raises the limit)" +
                          said);
  }
  const std::string what = path.empty() ? repo : std::string(path);
  if (reply.status >= 500) {
    return make_error(ErrorCode::kIo,
                      "the hub failed (" + status + ") on " + what + ": try again later" + said);
  }
  return make_error(ErrorCode::kIo,
                    "the hub answered " + status + " for " + what + " (" + reply.url + ")" + said);
}

Result<RepoListing> fetch_listing(HttpClient& http, const HubConfig& hub, std::string_view repo_view) {
  const std::string repo(repo_view);
  RepoListing listing;
  auto info_reply = http.get(hub.endpoint + "/api/models/" + repo + "/revision/main");
  if (!info_reply) return network_failure(hub, info_reply.error());
  if (info_reply->status != 200) return http_failure(hub, *info_reply, repo);
  auto info = parse_json(*info_reply, "the model info");
  if (!info) return info.error();
  if (!info->is_object() || !info->contains("sha") || !(*info)["sha"].is_string())
    return make_error(ErrorCode::kInvalidFormat, "the model info of " + repo + " names no commit");
  listing.commit = (*info)["sha"];
  if (listing.commit.empty() || listing.commit.size() > 64 ||
      !std::all_of(listing.commit.begin(), listing.commit.end(),
                   [](unsigned char c) { return std::isxdigit(c); }))
    return make_error(ErrorCode::kInvalidFormat, "the model info of " + repo + " has an odd commit id");

  std::string url = hub.endpoint + "/api/models/" + repo + "/tree/" + listing.commit + "?recursive=true";
  for (int page = 0; !url.empty(); ++page) {
    if (page == 1000)
      return make_error(ErrorCode::kInvalidFormat, "the file list of " + repo + " never ends");
    auto reply = http.get(url);
    if (!reply) return network_failure(hub, reply.error());
    if (reply->status != 200) return http_failure(hub, *reply, repo);
    auto tree = parse_json(*reply, "the file list");
    if (!tree) return tree.error();
    if (!tree->is_array())
      return make_error(ErrorCode::kInvalidFormat, "the file list of " + repo + " is not a list");
    for (const auto& entry : *tree) {
      if (!entry.is_object() || entry.value("type", std::string()) != "file") continue;
      auto file = parse_entry(entry);
      if (!file) return file.error().with_context("the file list of " + repo);
      listing.files.push_back(std::move(*file));
    }
    url = next_page(reply->header("link"));
    // A relative next link is resolved against the endpoint.
    if (url.starts_with("/")) url = hub.endpoint + url;
  }
  return listing;
}

}  // namespace pensieve::hub
