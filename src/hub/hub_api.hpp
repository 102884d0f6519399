// hub/hub_api: the Hugging Face hub's HTTP API, the part a download needs.
//
//   GET {endpoint}/api/models/{repo}/revision/main            {"sha": commit, …}
//   GET {endpoint}/api/models/{repo}/tree/{commit}?recursive=true
//       [{"type": "file", "path", "size", "oid", "lfs": {"oid": sha256, "size"}}, …], paged by a
//       Link: <…>; rel="next" header
//   GET {endpoint}/{repo}/resolve/{commit}/{path}             the bytes, usually via a redirect
//
// Files are fetched at the commit the listing came from, so the parts of a split model and the
// checksums all belong to one revision even if main moves meanwhile. Failures are turned into
// messages that say what to do (the hub answers X-Error-Code: RepoNotFound, GatedRepo,
// EntryNotFound, RevisionNotFound).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "hub/file_choice.hpp"
#include "hub/http_client.hpp"

namespace pensieve::hub {

struct HubConfig {
  std::string endpoint = "https://huggingface.co";  // no trailing slash
  std::string token;                                // empty: anonymous

  // HF_ENDPOINT and HF_TOKEN (else the token `huggingface-cli login` saved in $HF_TOKEN_PATH or
  // $HF_HOME/token), as huggingface_hub reads them.
  static HubConfig from_environment();
};

struct RepoListing {
  std::string commit;
  std::vector<RepoFile> files;
};

Result<RepoListing> fetch_listing(HttpClient& http, const HubConfig& hub, std::string_view repo);

std::string file_url(const HubConfig& hub, std::string_view repo, std::string_view commit,
                     std::string_view path);

// What an HTTP error answer means and what the user can do about it. `path` names the file when
// the request was for one.
Error http_failure(const HubConfig& hub, const HttpReply& reply, std::string_view repo,
                   std::string_view path = {});

// A request that got no HTTP answer at all.
Error network_failure(const HubConfig& hub, const Error& error);

}  // namespace pensieve::hub
