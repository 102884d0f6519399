// api/json_text: JSON written straight into a byte buffer, for the frames that go out with every
// token: building a JSON value per piece would cost more than everything else on that path.
#pragma once

#include <string>
#include <string_view>

namespace pensieve::api {

// `text` as a JSON string, written as nlohmann::json dumps one (broken UTF-8, which only a bug
// upstream makes, becomes U+FFFD).
void append_json_string(std::string& out, std::string_view text);

// A non-negative integer in decimal.
void append_decimal(std::string& out, std::size_t value);

}  // namespace pensieve::api
