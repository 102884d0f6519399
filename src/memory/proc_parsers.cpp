#include "memory/proc_parsers.hpp"

#include <charconv>
#include <string>

namespace pensieve::memory {
namespace {

// Calls fn(line) for each line; stops early when fn returns false.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    if (!fn(line)) return;
    if (nl == std::string_view::npos) return;
    text.remove_prefix(nl + 1);
  }
}

std::string_view skip_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// Parses the leading unsigned integer of s; nullopt when there is none or it overflows.
std::optional<std::uint64_t> leading_u64(std::string_view s, std::string_view* rest = nullptr) {
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc()) return std::nullopt;
  if (rest) *rest = s.substr(static_cast<std::size_t>(ptr - s.data()));
  return value;
}

Error missing(std::string_view file, std::string_view key) {
  return make_error(ErrorCode::kInvalidFormat,
                    std::string(file) + " has no readable '" + std::string(key) + "' line");
}

}  // namespace

std::optional<std::uint64_t> find_kb_field(std::string_view text, std::string_view key) {
  std::optional<std::uint64_t> found;
  for_each_line(text, [&](std::string_view line) {
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':')
      return true;
    std::string_view rest;
    auto value = leading_u64(skip_spaces(line.substr(key.size() + 1)), &rest);
    if (!value) return false;
    rest = skip_spaces(rest);
    // The kernel always writes kB here; a bare number is taken as bytes.
    if (rest.starts_with("kB")) {
      if (*value > UINT64_MAX / 1024) return false;
      found = *value * 1024;
    } else if (rest.empty()) {
      found = *value;
    }
    return false;
  });
  return found;
}

Result<HostMemInfo> parse_meminfo(std::string_view text) {
  HostMemInfo info;
  auto total = find_kb_field(text, "MemTotal");
  if (!total) return missing("meminfo", "MemTotal");
  auto available = find_kb_field(text, "MemAvailable");
  if (!available) return missing("meminfo", "MemAvailable");
  info.total_bytes = *total;
  info.available_bytes = *available;
  info.swap_total_bytes = find_kb_field(text, "SwapTotal").value_or(0);
  info.swap_free_bytes = find_kb_field(text, "SwapFree").value_or(0);
  if (info.total_bytes == 0) {
    return make_error(ErrorCode::kInvalidFormat, "meminfo reports MemTotal 0");
  }
  return info;
}

Result<ProcessMemory> parse_process_status(std::string_view text) {
  ProcessMemory mem;
  auto rss = find_kb_field(text, "VmRSS");
  if (!rss) return missing("process status", "VmRSS");
  auto anon = find_kb_field(text, "RssAnon");
  if (!anon) return missing("process status", "RssAnon");
  auto file = find_kb_field(text, "RssFile");
  if (!file) return missing("process status", "RssFile");
  mem.rss_bytes = *rss;
  mem.rss_anon_bytes = *anon;
  mem.rss_file_bytes = *file;
  mem.rss_shmem_bytes = find_kb_field(text, "RssShmem").value_or(0);
  return mem;
}

Result<SwapCounters> parse_vmstat_swap(std::string_view text) {
  std::optional<std::uint64_t> in, out;
  for_each_line(text, [&](std::string_view line) {
    if (line.starts_with("pswpin ")) in = leading_u64(skip_spaces(line.substr(7)));
    if (line.starts_with("pswpout ")) out = leading_u64(skip_spaces(line.substr(8)));
    return !(in && out);
  });
  if (!in) return missing("vmstat", "pswpin");
  if (!out) return missing("vmstat", "pswpout");
  return SwapCounters{*in, *out};
}

Result<PressureStall> parse_pressure(std::string_view text) {
  PressureStall psi;
  bool have_some = false;
  bool bad = false;
  for_each_line(text, [&](std::string_view line) {
    const bool some = line.starts_with("some ");
    const bool full = line.starts_with("full ");
    if (!some && !full) return true;
    // "some avg10=0.00 avg60=0.00 avg300=0.00 total=0"
    auto field = [&](std::string_view name) -> std::optional<double> {
      const std::size_t at = line.find(name);
      if (at == std::string_view::npos) return std::nullopt;
      const std::string_view num = line.substr(at + name.size());
      double v = 0;
      auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
      if (ec != std::errc() || ptr == num.data()) return std::nullopt;
      return v;
    };
    auto avg10 = field(" avg10=");
    auto avg60 = field(" avg60=");
    if (!avg10 || !avg60) {
      bad = true;
      return false;
    }
    if (some) {
      psi.some_avg10 = *avg10;
      psi.some_avg60 = *avg60;
      have_some = true;
    } else {
      psi.full_avg10 = *avg10;
    }
    return true;
  });
  if (bad || !have_some) return missing("pressure/memory", "some avg10=");
  return psi;
}

}  // namespace pensieve::memory
