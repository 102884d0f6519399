#include "server/auth.hpp"

#include <arpa/inet.h>

#include <cstdint>

namespace pensieve::server {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Loop over the longer length so the time does not reveal the shared prefix either.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

std::string presented_key(std::string_view x_api_key, std::string_view authorization) {
  if (!x_api_key.empty()) return std::string(x_api_key);
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kBearer.size(); ++i) {
      const char c = authorization[i];
      const char e = kBearer[i];
      if (c != e && !(e >= 'A' && e <= 'Z' && c == e + 32)) match = false;
    }
    if (match) return std::string(authorization.substr(kBearer.size()));
  }
  return {};
}

bool authorized(const std::vector<std::string>& keys, std::string_view presented) {
  if (keys.empty()) return true;
  if (presented.empty()) return false;  // no key presented never passes, whatever was configured
  bool ok = false;
  for (const auto& k : keys) ok = constant_time_equal(k, presented) || ok;  // no early exit
  return ok;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

Status check_bind_policy(std::string_view host, const std::vector<std::string>& keys, bool insecure) {
  for (const auto& key : keys) {
    // `--api-key "$UNSET"` must not quietly serve everyone.
    if (key.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "an API key is empty: an empty key would let every request in. Give a non-empty "
                        "--api-key (or PENSIEVE_API_KEY), or none at all");
    }
  }
  if (is_loopback_host(host) || !keys.empty() || insecure) return {};
  return make_error(
      ErrorCode::kInvalidArgument,
      "refusing to listen on " + std::string(host) +
          " without an API key: anyone who can reach this address could use the server. "
          "Pass --api-key KEY (clients send it as x-api-key), or --insecure to accept that risk");
}

}  // namespace pensieve::server
