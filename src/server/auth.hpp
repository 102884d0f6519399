// server/auth: API-key checks and the bind policy (no open, key-less server on a network).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace pensieve::server {

// Compares in time that depends only on the lengths, not on where the bytes differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// The key a request presents: `x-api-key`, else `Authorization: Bearer K`; empty when none.
std::string presented_key(std::string_view x_api_key, std::string_view authorization);

// With no keys configured every request passes; otherwise the presented key must match one.
bool authorized(const std::vector<std::string>& keys, std::string_view presented);

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

// Binding beyond loopback needs an API key, or an explicit --insecure; an empty key is refused
// everywhere (it would look like a key and admit every request).
Status check_bind_policy(std::string_view host, const std::vector<std::string>& keys, bool insecure);

}  // namespace pensieve::server
