#include "hub/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace pensieve::hub {
namespace {

// A JSON answer larger than this is not one the hub sends; an error body is kept only this far.
constexpr std::size_t kMaxBody = std::size_t{64} << 20;
constexpr std::size_t kMaxErrorBody = std::size_t{64} << 10;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  HttpReply reply;
  const BodySink* sink = nullptr;  // null: keep the body
  bool sink_stopped = false;
  bool in_body = false;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new response (after a redirect or a 100 Continue): forget the previous one's headers.
    t.reply.headers.clear();
    const std::size_t space = line.find(' ');
    t.reply.status =
        space == std::string_view::npos ? 0 : std::atol(std::string(line.substr(space + 1, 3)).c_str());
    return size * count;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  t.reply.headers[name] = std::string(value);
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::string_view bytes(data, size * count);
  const bool success = t.reply.status >= 200 && t.reply.status < 300;
  if (t.sink != nullptr && success) {
    if (!(*t.sink)(t.reply, bytes)) {
      t.sink_stopped = true;
      return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    return bytes.size();
  }
  const std::size_t cap = t.sink != nullptr ? kMaxErrorBody : kMaxBody;
  if (t.reply.body.size() + bytes.size() > cap) {
    if (t.sink != nullptr) return bytes.size();  // an error page's tail says nothing more
    return 0;
  }
  t.reply.body.append(bytes);
  return bytes.size();
}

}  // namespace

std::string HttpReply::header(std::string_view lower_case_name) const {
  auto it = headers.find(std::string(lower_case_name));
  return it == headers.end() ? std::string() : it->second;
}

struct HttpClient::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

HttpClient::HttpClient(std::string bearer_token)
    : handle_(std::make_unique<Handle>()), token_(std::move(bearer_token)) {
  global_init();
  handle_->curl = curl_easy_init();
}

HttpClient::~HttpClient() = default;

namespace {

Result<HttpReply> perform(CURL* curl, const std::string& token, const std::string& url, std::uint64_t offset,
                          const BodySink* sink) {
  if (curl == nullptr) return make_error(ErrorCode::kInternal, "libcurl could not start");
  curl_easy_reset(curl);  // the handle is reused for its connection cache, not its options
  Transfer t;
  t.sink = sink;
  curl_slist* headers = nullptr;
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  const std::string range = std::to_string(offset) + "-";
  char detail[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "pensieve");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  // A transfer that moves nothing for a minute is dead; a slow one is not (no overall timeout).
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  if (sink == nullptr) {
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // API answers may come compressed
  } else if (offset > 0) {
    // CURLOPT_RANGE rather than RESUME_FROM: a server that ignores the range and answers 200
    // is then handed to the sink (which starts over) instead of failing the transfer.
    curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
  }
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  char* effective = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective != nullptr)
    t.reply.url = effective;
  if (t.sink_stopped) return make_error(ErrorCode::kCancelled, "the transfer was stopped");
  if (code != CURLE_OK) {
    // The error buffer says which host and why ("Failed to connect to … port …: Connection
    // refused"); the code's text is the fallback.
    std::string what = detail[0] != '\0' ? detail : curl_easy_strerror(code);
    if (code == CURLE_OPERATION_TIMEDOUT) what += " (nothing arrived for 60 s)";
    return make_error(ErrorCode::kIo, what);
  }
  return std::move(t.reply);
}

}  // namespace

Result<HttpReply> HttpClient::get(const std::string& url) {
  return perform(handle_->curl, token_, url, 0, nullptr);
}

Result<HttpReply> HttpClient::download(const std::string& url, std::uint64_t offset, const BodySink& sink) {
  return perform(handle_->curl, token_, url, offset, &sink);
}

}  // namespace pensieve::hub
