#include "memory/byte_size.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace pensieve::memory {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

Result<std::uint64_t> unit_multiplier(std::string_view unit) {
  struct Unit {
    const char* name;
    std::uint64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},       {"b", 1},           {"k", kKiB},         {"kb", kKiB},         {"kib", kKiB},
      {"m", kMiB},   {"mb", kMiB},       {"mib", kMiB},       {"g", kGiB},          {"gb", kGiB},
      {"gib", kGiB}, {"t", kGiB * 1024}, {"tb", kGiB * 1024}, {"tib", kGiB * 1024},
  };
  for (const Unit& u : kUnits) {
    if (equals_ignore_case(unit, u.name)) return u.factor;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown size unit '" + std::string(unit) + "' (use B, KiB, MiB, GiB, TiB or %)");
}

// Splits "1.5GiB" into 1.5 and "GiB".
Result<std::pair<double, std::string_view>> split_number(std::string_view text) {
  std::size_t end = 0;
  while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.'))
    ++end;
  if (end == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "size '" + std::string(text) + "' must start with a number, e.g. 2GiB, 512MiB or 10%");
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, value);
  if (ec != std::errc() || ptr != text.data() + end || !std::isfinite(value) || value < 0) {
    return make_error(ErrorCode::kInvalidArgument, "size '" + std::string(text) + "' is not a valid number");
  }
  return std::pair{value, trim(text.substr(end))};
}

}  // namespace

std::uint64_t SizeSpec::resolve(std::uint64_t total_bytes) const {
  if (kind == Kind::kBytes) return bytes;
  return static_cast<std::uint64_t>(static_cast<long double>(total_bytes) * percent / 100.0L);
}

std::string SizeSpec::to_string() const {
  if (kind == Kind::kBytes) return format_bytes(bytes);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", percent);
  return buf;
}

Result<SizeSpec> parse_size_spec(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.back() == '%') {
    auto number = split_number(trim(text.substr(0, text.size() - 1)));
    if (!number) return number.error();
    if (!number->second.empty() || number->first > 100.0) {
      return make_error(ErrorCode::kInvalidArgument, "percentage '" + std::string(text) +
                                                         "' must be a number from 0 to 100 followed by %");
    }
    return SizeSpec::percent_of_total(number->first);
  }
  auto bytes = parse_byte_size(text);
  if (!bytes) return bytes.error();
  return SizeSpec::absolute(*bytes);
}

Result<std::uint64_t> parse_byte_size(std::string_view text) {
  text = trim(text);
  auto number = split_number(text);
  if (!number) return number.error();
  auto factor = unit_multiplier(number->second);
  if (!factor) return factor.error();
  const long double value = static_cast<long double>(number->first) * static_cast<long double>(*factor);
  if (value >= 18446744073709551615.0L) {
    return make_error(ErrorCode::kOutOfRange, "size '" + std::string(text) + "' is too large");
  }
  return static_cast<std::uint64_t>(value + 0.5L);
}

std::string format_bytes(std::uint64_t bytes) {
  char buf[48];
  if (bytes >= kGiB) {
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / static_cast<double>(kGiB));
  } else if (bytes >= kMiB) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / static_cast<double>(kMiB));
  } else if (bytes >= kKiB) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / static_cast<double>(kKiB));
  } else {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  }
  return buf;
}

double to_gib(std::uint64_t bytes) {
  return std::round(static_cast<double>(bytes) / static_cast<double>(kGiB) * 100.0) / 100.0;
}

}  // namespace pensieve::memory
