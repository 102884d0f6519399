// upstream/prometheus: reads the Prometheus text exposition an upstream serves at /metrics, and
// from it the load figures admission needs: requests queued, requests running, KV-cache use.
//
// The text comes from another server, so it is parsed as hostile: a malformed line is skipped and
// counted, never trusted or crashed on, and the work is bounded (input size, sample count).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pensieve::upstream {

struct PrometheusSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // values unescaped
  double value = 0;                                         // NaN and ±Inf as such
  std::optional<std::int64_t> timestamp_ms;
};

struct PrometheusText {
  std::vector<PrometheusSample> samples;
  std::vector<std::pair<std::string, std::string>> types;  // from "# TYPE name type"
  std::size_t skipped_lines = 0;                           // malformed, ignored
  bool truncated = false;  // the input or the sample count ran past its bound; the rest unread
};

// Bounds of parse_prometheus: text past kMaxPrometheusBytes and samples past kMaxPrometheusSamples
// are not read (vLLM's /metrics is ~100 KiB with a few thousand samples).
inline constexpr std::size_t kMaxPrometheusBytes = 8u << 20;
inline constexpr std::size_t kMaxPrometheusSamples = 100000;

PrometheusText parse_prometheus(std::string_view text);

// An upstream's load as its metrics tell it; each figure absent when it does not expose it.
struct UpstreamLoad {
  std::optional<double> waiting;   // requests queued, not yet running
  std::optional<double> running;   // requests being computed
  std::optional<double> kv_usage;  // fraction 0..1 of the KV cache in use

  friend bool operator==(const UpstreamLoad&, const UpstreamLoad&) = default;
};

// Recognises vLLM (vllm:num_requests_waiting, vllm:num_requests_running, vllm:kv_cache_usage_perc
// and the older vllm:gpu_cache_usage_perc — fractions despite the name), SGLang
// (sglang:num_queue_reqs, sglang:num_running_reqs, sglang:token_usage) and pensieve
// (pensieve_requests_waiting, pensieve_requests_running, pensieve_kv_cache_usage_ratio).
// Request counts are summed across label sets (one per engine or rank); the KV fraction is the
// highest of them, since the fullest cache is the one a new request may land on and fractions do
// not add. NaN samples are ignored. nullopt when none of these metrics is present.
std::optional<UpstreamLoad> load_from_metrics(std::string_view text);

}  // namespace pensieve::upstream
