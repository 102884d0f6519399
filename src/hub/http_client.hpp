// hub/http_client: the few HTTP GETs the hub needs, through libcurl (Debian's libcurl4-openssl).
//
// libcurl brings what a downloader must get right and we would rather not write: TLS with the
// system's certificates, redirects (the hub answers `resolve` with a redirect to its CDN), the
// proxy variables (http_proxy, https_proxy, no_proxy, ALL_PROXY), and stall detection. The
// Authorization header is not forwarded when a redirect leads to another host, so a token sent
// to the hub never reaches the CDN.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace pensieve::hub {

struct HttpReply {
  long status = 0;
  std::map<std::string, std::string> headers;  // of the last response; names lower-case
  std::string body;                            // whole for get(); for download() only an error body
  std::string url;                             // after redirects

  std::string header(std::string_view lower_case_name) const;
};

// Bytes of a download's body as they arrive, with the response they belong to (its status and
// headers: 206 and a Content-Range when the range was honoured, 200 when the server sent the
// whole file instead). Returning false stops the transfer.
using BodySink = std::function<bool(const HttpReply& response, std::string_view bytes)>;

class HttpClient {
 public:
  // `bearer_token` empty: no Authorization header.
  explicit HttpClient(std::string bearer_token);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // A GET whose body is kept (API answers). An error only when no HTTP answer came: kIo with
  // what failed (name resolution, connection, TLS, timeout). HTTP errors come back as replies.
  Result<HttpReply> get(const std::string& url);

  // A GET from byte `offset` on (a Range header when offset > 0) whose 2xx body goes to `sink`;
  // other statuses keep their body in the reply. kIo when the transfer broke off (the sink has
  // what arrived until then); kCancelled when the sink stopped it.
  Result<HttpReply> download(const std::string& url, std::uint64_t offset, const BodySink& sink);

 private:
  struct Handle;
  std::unique_ptr<Handle> handle_;
  std::string token_;
};

}  // namespace pensieve::hub
