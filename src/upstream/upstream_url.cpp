#include "upstream/upstream_url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace pensieve::upstream {
namespace {

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

Error invalid(std::string_view text, const std::string& why) {
  return make_error(ErrorCode::kInvalidArgument, "upstream URL '" + std::string(text) + "': " + why);
}

bool host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// The host as a URL writes it: an IPv6 literal in brackets.
std::string url_host(const std::string& host) {
  if (host.find(':') == std::string::npos) return host;
  std::string out;
  out += '[';
  out += host;
  out += ']';
  return out;
}

}  // namespace

std::string UpstreamUrl::host_header() const {
  std::string out = url_host(host);
  if (port != 80) {
    out += ':';
    out += std::to_string(port);
  }
  return out;
}

std::string UpstreamUrl::text() const {
  std::string out = "http://";
  out += url_host(host);
  out += ':';
  out += std::to_string(port);
  out += base_path;
  return out;
}

std::string UpstreamUrl::api_target(std::string_view path) const {
  const bool has_v1 = base_path.size() >= 3 && base_path.compare(base_path.size() - 3, 3, "/v1") == 0;
  return base_path + (has_v1 ? "" : "/v1") + std::string(path);
}

Result<UpstreamUrl> parse_upstream_url(std::string_view text) {
  if (starts_with_ci(text, "https://")) {
    return invalid(text,
                   "https is not supported (this version speaks plain HTTP to upstreams, no TLS); use "
                   "http:// on a trusted network, or a local TLS-terminating proxy");
  }
  if (!starts_with_ci(text, "http://")) {
    return invalid(text, "expected http://host[:port][/base/path], e.g. http://127.0.0.1:8000/v1");
  }
  std::string_view rest = text.substr(7);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return invalid(text, "a query or fragment is not allowed; give only http://host[:port][/base/path]");
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return invalid(text, "credentials in the URL are not used; pass the key with --upstream-key");
  }

  UpstreamUrl url;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid(text, "an IPv6 address needs its closing ']'");
    url.host = std::string(authority.substr(1, close - 1));
    const bool hex_or_colon = std::all_of(url.host.begin(), url.host.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
    if (url.host.empty() || !hex_or_colon) return invalid(text, "'" + url.host + "' is not an IPv6 address");
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid(text, "expected ':port' after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return invalid(text, "the port after ':' is missing");
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return invalid(text, "the port after ':' is missing");
    }
    if (!std::all_of(url.host.begin(), url.host.end(), host_char)) {
      return invalid(text, "'" + url.host + "' is not a host name or address");
    }
  }
  if (url.host.empty()) return invalid(text, "the host is missing");

  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      return invalid(text, "the port must be a number from 1 to 65535");
    }
    url.port = static_cast<std::uint16_t>(value);
  }

  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f) {
      return invalid(text, "the path may not hold spaces or control characters (percent-encode them)");
    }
  }
  url.base_path = std::string(path);
  return url;
}

}  // namespace pensieve::upstream
