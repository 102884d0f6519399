#include "upstream/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace pensieve::upstream {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}
bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}

// A cursor over one line; every read checks its bounds.
class LineReader {
 public:
  explicit LineReader(std::string_view line) : line_(line) {}

  bool done() const { return pos_ >= line_.size(); }
  char peek() const { return done() ? '\0' : line_[pos_]; }
  bool take(char c) {
    if (peek() != c || done()) return false;
    ++pos_;
    return true;
  }
  void skip_spaces() {
    while (!done() && is_space(line_[pos_])) ++pos_;
  }
  std::string_view rest() const { return line_.substr(std::min(pos_, line_.size())); }

  // A metric name (colons allowed) or, with `label`, a label name (no colons).
  std::optional<std::string> name(bool label) {
    const std::size_t start = pos_;
    if (done() || !name_start(line_[pos_]) || (label && line_[pos_] == ':')) return std::nullopt;
    while (!done() && name_char(line_[pos_]) && !(label && line_[pos_] == ':')) ++pos_;
    return std::string(line_.substr(start, pos_ - start));
  }

  // A double-quoted string with the exposition format's escapes (\\, \", \n); nullopt on an
  // unknown escape or a missing closing quote.
  std::optional<std::string> quoted() {
    if (!take('"')) return std::nullopt;
    std::string out;
    while (!done()) {
      const char c = line_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (done()) return std::nullopt;
      const char e = line_[pos_++];
      if (e == '\\')
        out += '\\';
      else if (e == '"')
        out += '"';
      else if (e == 'n')
        out += '\n';
      else
        return std::nullopt;
    }
    return std::nullopt;
  }

  // Characters up to the next space or tab.
  std::string_view token() {
    const std::size_t start = pos_;
    while (!done() && !is_space(line_[pos_])) ++pos_;
    return line_.substr(start, pos_ - start);
  }

 private:
  std::string_view line_;
  std::size_t pos_ = 0;
};

std::optional<double> parse_value(std::string_view token) {
  if (token.empty()) return std::nullopt;
  if (token.front() == '+') {
    token.remove_prefix(1);
    if (token.empty() || token.front() == '-' || token.front() == '+') return std::nullopt;
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  // Out of range still parses as the nearest representable value in Go; saturate the same way.
  if (ec == std::errc::result_out_of_range && end == token.data() + token.size()) {
    return token.front() == '-' ? -HUGE_VAL : HUGE_VAL;
  }
  if (ec != std::errc{} || end != token.data() + token.size()) return std::nullopt;
  return value;
}

std::optional<std::int64_t> parse_timestamp(std::string_view token) {
  std::int64_t ms = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), ms);
  if (ec == std::errc{} && end == token.data() + token.size()) return ms;
  // OpenMetrics writes seconds with a fraction.
  const std::optional<double> seconds = parse_value(token);
  if (!seconds || !std::isfinite(*seconds) || std::fabs(*seconds) > 9.0e15) return std::nullopt;
  return static_cast<std::int64_t>(*seconds * 1000.0);
}

// The label set after '{' up to and including '}'. A quoted item not followed by '=' is the
// metric's name (the UTF-8 form `{"name", label="value"}`), stored in `name` when that is empty.
bool parse_labels(LineReader& in, std::string& name,
                  std::vector<std::pair<std::string, std::string>>& labels) {
  for (;;) {
    in.skip_spaces();
    if (in.take('}')) return true;
    std::optional<std::string> label = in.peek() == '"' ? in.quoted() : in.name(true);
    if (!label) return false;
    in.skip_spaces();
    if (in.take('=')) {
      in.skip_spaces();
      std::optional<std::string> value = in.quoted();
      if (!value) return false;
      labels.emplace_back(std::move(*label), std::move(*value));
    } else if (name.empty()) {
      name = std::move(*label);
    } else {
      return false;
    }
    in.skip_spaces();
    if (in.take(',')) continue;
    if (in.take('}')) return true;
    return false;
  }
}

std::optional<PrometheusSample> parse_sample(std::string_view line) {
  LineReader in(line);
  PrometheusSample sample;
  if (in.peek() != '{') {
    std::optional<std::string> name = in.name(false);
    if (!name) return std::nullopt;
    sample.name = std::move(*name);
  }
  in.skip_spaces();
  if (in.take('{') && !parse_labels(in, sample.name, sample.labels)) return std::nullopt;
  if (sample.name.empty()) return std::nullopt;
  in.skip_spaces();
  const std::optional<double> value = parse_value(in.token());
  if (!value) return std::nullopt;
  sample.value = *value;
  in.skip_spaces();
  if (!in.done() && in.peek() != '#') {
    sample.timestamp_ms = parse_timestamp(in.token());
    if (!sample.timestamp_ms) return std::nullopt;
    in.skip_spaces();
  }
  // What may follow is an OpenMetrics exemplar ("# {...} value"), which admission has no use for.
  if (!in.done() && in.peek() != '#') return std::nullopt;
  return sample;
}

// "# TYPE name type"; false when malformed. HELP and other comments are not read.
bool parse_comment(std::string_view line, PrometheusText& out) {
  LineReader in(line);
  in.take('#');
  in.skip_spaces();
  if (in.token() != "TYPE") return true;
  in.skip_spaces();
  std::optional<std::string> name = in.peek() == '"' ? in.quoted() : in.name(false);
  if (!name) return false;
  in.skip_spaces();
  const std::string_view type = in.token();
  in.skip_spaces();
  if (type.empty() || !in.done()) return false;
  out.types.emplace_back(std::move(*name), std::string(type));
  return true;
}

}  // namespace

PrometheusText parse_prometheus(std::string_view text) {
  PrometheusText out;
  if (text.size() > kMaxPrometheusBytes) {
    text = text.substr(0, kMaxPrometheusBytes);
    out.truncated = true;
  }
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    if (line.empty()) continue;
    if (line.front() == '#') {
      if (!parse_comment(line, out)) ++out.skipped_lines;
      continue;
    }
    if (out.samples.size() >= kMaxPrometheusSamples) {
      out.truncated = true;
      break;
    }
    if (std::optional<PrometheusSample> sample = parse_sample(line)) {
      out.samples.push_back(std::move(*sample));
    } else {
      ++out.skipped_lines;
    }
  }
  return out;
}

namespace {

enum class Figure { kWaiting, kRunning, kKvUsage };

struct KnownMetric {
  std::string_view name;
  Figure figure;
};

constexpr KnownMetric kKnownMetrics[] = {
    {"vllm:num_requests_waiting", Figure::kWaiting}, {"vllm:num_requests_running", Figure::kRunning},
    {"vllm:kv_cache_usage_perc", Figure::kKvUsage},  {"vllm:gpu_cache_usage_perc", Figure::kKvUsage},
    {"sglang:num_queue_reqs", Figure::kWaiting},     {"sglang:num_running_reqs", Figure::kRunning},
    {"sglang:token_usage", Figure::kKvUsage},        {"pensieve_requests_waiting", Figure::kWaiting},
    {"pensieve_requests_running", Figure::kRunning}, {"pensieve_kv_cache_usage_ratio", Figure::kKvUsage},
};

}  // namespace

std::optional<UpstreamLoad> load_from_metrics(std::string_view text) {
  const PrometheusText parsed = parse_prometheus(text);
  UpstreamLoad load;
  bool any = false;
  for (const PrometheusSample& sample : parsed.samples) {
    if (std::isnan(sample.value)) continue;
    const auto known = std::find_if(std::begin(kKnownMetrics), std::end(kKnownMetrics),
                                    [&](const KnownMetric& m) { return m.name == sample.name; });
    if (known == std::end(kKnownMetrics)) continue;
    any = true;
    // Negative counts and fractions are nonsense from a gauge; read them as zero.
    const double value = std::max(sample.value, 0.0);
    switch (known->figure) {
      case Figure::kWaiting:
        load.waiting = load.waiting.value_or(0) + value;
        break;
      case Figure::kRunning:
        load.running = load.running.value_or(0) + value;
        break;
      case Figure::kKvUsage:
        load.kv_usage = std::max(load.kv_usage.value_or(0), std::min(value, 1.0));
        break;
    }
  }
  if (!any) return std::nullopt;
  return load;
}

}  // namespace pensieve::upstream
