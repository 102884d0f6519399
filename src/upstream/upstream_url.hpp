// upstream/upstream_url: where an OpenAI-compatible upstream (vLLM, SGLang, another `pensieve
// serve`) listens, parsed once from `--upstream http://host[:port][/base]`, and the request
// targets derived from it: the API under the base path, health and metrics at the server root.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace pensieve::upstream {

struct UpstreamUrl {
  std::string host;  // a name or an address; an IPv6 literal without its brackets
  std::uint16_t port = 80;
  std::string base_path;  // "" or "/v1", "/proxy/v1": no trailing '/'

  // "http://host:port/base", as logs and metrics name the upstream.
  std::string text() const;
  // The Host header's value: host, bracketed when IPv6, with ":port" unless 80.
  std::string host_header() const;
  // An OpenAI API path ("/chat/completions", "/models") under the base: base + path when the
  // base already ends in /v1, else base + "/v1" + path.
  std::string api_target(std::string_view path) const;
  std::string chat_completions_target() const { return api_target("/chat/completions"); }

  friend bool operator==(const UpstreamUrl&, const UpstreamUrl&) = default;
};

// Health and metrics live at the server's root whatever the base path.
inline constexpr std::string_view kHealthTarget = "/health";
inline constexpr std::string_view kMetricsTarget = "/metrics";

// kInvalidArgument with what to write instead: https (no TLS in this version), credentials in
// the URL (--upstream-key carries the key), a query or fragment, a missing host, a bad port.
Result<UpstreamUrl> parse_upstream_url(std::string_view text);

}  // namespace pensieve::upstream
