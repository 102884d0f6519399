#include "upstream/prometheus.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace pensieve::upstream {
namespace {

// Written from vLLM's documented metric names (the v0 name gpu_cache_usage_perc and the v1
// kv_cache_usage_perc, both "1 means 100 percent usage"), with two engines as data parallelism
// labels them.
constexpr std::string_view kVllmText =
    R"(# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="Qwen/Qwen3-8B"} 5.0
vllm:num_requests_running{engine="1",model_name="Qwen/Qwen3-8B"} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen3-8B"} 2.0
vllm:num_requests_waiting{engine="1",model_name="Qwen/Qwen3-8B"} 1.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen3-8B"} 0.42
vllm:kv_cache_usage_perc{engine="1",model_name="Qwen/Qwen3-8B"} 0.61
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="Qwen/Qwen3-8B"} 8.128902e+06
vllm:e2e_request_latency_seconds_bucket{le="+Inf",model_name="Qwen/Qwen3-8B"} 12.0
)";

constexpr std::string_view kVllmV0Text = R"(# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} 0.0
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="m"} 0.25
)";

// From SGLang's production metrics documentation.
constexpr std::string_view kSglangText = R"(# HELP sglang:token_usage The token usage
# TYPE sglang:token_usage gauge
sglang:token_usage{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.28
# HELP sglang:num_running_reqs The number of running requests
# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
# HELP sglang:num_queue_reqs The number of requests in the waiting queue
# TYPE sglang:num_queue_reqs gauge
sglang:num_queue_reqs{model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
)";

TEST(PrometheusText, ParsesSamplesLabelsAndTypes) {
  const PrometheusText text = parse_prometheus(kVllmText);
  EXPECT_EQ(text.skipped_lines, 0u);
  EXPECT_FALSE(text.truncated);
  ASSERT_EQ(text.samples.size(), 8u);
  EXPECT_EQ(text.samples[0].name, "vllm:num_requests_running");
  ASSERT_EQ(text.samples[0].labels.size(), 2u);
  EXPECT_EQ(text.samples[0].labels[0], (std::pair<std::string, std::string>{"engine", "0"}));
  EXPECT_EQ(text.samples[0].labels[1].second, "Qwen/Qwen3-8B");
  EXPECT_DOUBLE_EQ(text.samples[6].value, 8.128902e+06);
  EXPECT_EQ(text.samples[7].labels[0].second, "+Inf");
  ASSERT_EQ(text.types.size(), 4u);
  EXPECT_EQ(text.types[3], (std::pair<std::string, std::string>{"vllm:prompt_tokens_total", "counter"}));
}

TEST(PrometheusText, SpecialValuesTimestampsEscapesAndCrlf) {
  const PrometheusText text = parse_prometheus(
      "a NaN\r\nb +Inf\nc -Inf 1712345678000\n"
      "d{path=\"C:\\\\dir\",say=\"\\\"hi\\\"\\n\",} 1.5e-3\n"
      "  e{}   7   \n"
      "f 2 1712345678.5 # {trace_id=\"x\"} 1\n"
      "{\"g.dotted\",x=\"1\"} 3\n");
  EXPECT_EQ(text.skipped_lines, 0u);
  ASSERT_EQ(text.samples.size(), 7u);
  EXPECT_TRUE(std::isnan(text.samples[0].value));
  EXPECT_EQ(text.samples[1].value, INFINITY);
  EXPECT_EQ(text.samples[2].value, -INFINITY);
  EXPECT_EQ(text.samples[2].timestamp_ms, 1712345678000);
  EXPECT_EQ(text.samples[3].labels[0].second, "C:\\dir");
  EXPECT_EQ(text.samples[3].labels[1].second, "\"hi\"\n");
  EXPECT_DOUBLE_EQ(text.samples[3].value, 1.5e-3);
  EXPECT_EQ(text.samples[4].name, "e");
  EXPECT_EQ(text.samples[4].value, 7);
  EXPECT_EQ(text.samples[5].timestamp_ms, 1712345678500);
  EXPECT_EQ(text.samples[6].name, "g.dotted");
}

TEST(PrometheusText, MalformedLinesAreSkippedAndCounted) {
  const PrometheusText text = parse_prometheus(
      "good 1\n"
      "bad{x=\"unterminated} 1\n"
      "bad{x=\"bad escape \\q\"} 1\n"
      "bad{x=1} 1\n"
      "bad{=\"v\"} 1\n"
      "bad 1 2 3\n"
      "bad one\n"
      "bad\n"
      "9bad 1\n"
      "bad{x=\"v\" y=\"w\"} 1\n"
      "bad ++1\n"
      "# TYPE\n"
      "also_good{x=\"\\\\\"} -2\n");
  ASSERT_EQ(text.samples.size(), 2u);
  EXPECT_EQ(text.samples[0].name, "good");
  EXPECT_EQ(text.samples[1].value, -2);
  EXPECT_EQ(text.skipped_lines, 11u);
}

TEST(PrometheusText, HostileInputIsBounded) {
  // A 3 MiB line, a label set that never closes, and random bytes: parsed without crashing.
  std::string huge(3u << 20, 'a');
  huge += " 1\n";
  EXPECT_EQ(parse_prometheus(huge).samples.size(), 1u);
  std::string open = "x{";
  for (int i = 0; i < 100000; ++i) open += "l=\"v\",";
  EXPECT_EQ(parse_prometheus(open).samples.size(), 0u);
  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    std::string garbage(1 + random() % 4096, '\0');
    const std::string_view alphabet = "ab_:{}=\",\\ \t\n#0123456789.+-eEInfNa\r";
    for (char& c : garbage)
      c = round % 2 ? static_cast<char>(random()) : alphabet[random() % alphabet.size()];
    const PrometheusText text = parse_prometheus(garbage);
    EXPECT_LE(text.samples.size(), garbage.size());
  }
  // Past the sample bound the rest is not read.
  std::string many;
  for (std::size_t i = 0; i < kMaxPrometheusSamples + 10; ++i) many += "m 1\n";
  const PrometheusText text = parse_prometheus(many);
  EXPECT_EQ(text.samples.size(), kMaxPrometheusSamples);
  EXPECT_TRUE(text.truncated);
}

TEST(PrometheusText, VllmLoadIsSummedAcrossEnginesWithTheFullestCache) {
  const auto load = load_from_metrics(kVllmText);
  ASSERT_TRUE(load);
  EXPECT_EQ(load->waiting, 3.0);
  EXPECT_EQ(load->running, 8.0);
  EXPECT_EQ(load->kv_usage, 0.61);
  const auto v0 = load_from_metrics(kVllmV0Text);
  ASSERT_TRUE(v0);
  EXPECT_EQ(v0->waiting, 0.0);
  EXPECT_FALSE(v0->running);
  EXPECT_EQ(v0->kv_usage, 0.25);
}

TEST(PrometheusText, SglangLoad) {
  const auto load = load_from_metrics(kSglangText);
  ASSERT_TRUE(load);
  EXPECT_EQ(load->waiting, 3.0);
  EXPECT_EQ(load->running, 7.0);
  EXPECT_EQ(load->kv_usage, 0.28);
}

TEST(PrometheusText, PensieveLoad) {
  // As server/load_report writes it.
  const auto load = load_from_metrics(
      "# TYPE pensieve_requests_waiting gauge\npensieve_requests_waiting 2\n"
      "# TYPE pensieve_requests_running gauge\npensieve_requests_running 4\n"
      "# TYPE pensieve_kv_cache_usage_ratio gauge\npensieve_kv_cache_usage_ratio 0.5\n");
  ASSERT_TRUE(load);
  EXPECT_EQ(*load, (UpstreamLoad{2.0, 4.0, 0.5}));
}

TEST(PrometheusText, NoKnownMetricsIsNoLoad) {
  EXPECT_FALSE(load_from_metrics(""));
  EXPECT_FALSE(load_from_metrics("process_cpu_seconds_total 12\n# TYPE x gauge\nx 1\n"));
  EXPECT_FALSE(load_from_metrics("<html>404 Not Found</html>"));
  // NaN is no figure; a negative or over-full gauge is clamped.
  EXPECT_FALSE(load_from_metrics("vllm:num_requests_waiting NaN\n"));
  const auto clamped = load_from_metrics("vllm:num_requests_waiting -3\nvllm:kv_cache_usage_perc 1.7\n");
  ASSERT_TRUE(clamped);
  EXPECT_EQ(clamped->waiting, 0.0);
  EXPECT_EQ(clamped->kv_usage, 1.0);
}

}  // namespace
}  // namespace pensieve::upstream
