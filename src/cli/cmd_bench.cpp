// `pensieve bench`: prefill/decode tokens per second of a model (llama-bench's pp and tg tests)
// and the machine's memory read bandwidth. The measuring lives in engine/bench and
// core/memory_bandwidth; this file parses flags and prints. Results go to stdout (a table like
// llama-bench's, or one JSON object), progress to stderr.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/model_argument.hpp"
#include "core/memory_bandwidth.hpp"
#include "core/result.hpp"
#include "core/thread_pool.hpp"
#include "engine/bench.hpp"
#include "kernels/isa.hpp"
#include "kernels/kv_type.hpp"
#include "memory/byte_size.hpp"
#include "model/model.hpp"

namespace pensieve::cli {
namespace {

struct BenchCommandOptions {
  std::string model_path;
  bool pull = false;
  unsigned threads = 0;  // 0: one per physical core
  std::uint32_t n_prompt = 512;
  std::uint32_t n_gen = 128;
  std::uint32_t depth = 0;
  std::uint32_t streams = 0;
  std::uint32_t repetitions = 3;
  std::uint32_t batch = engine::BenchOptions{}.batch;
  std::string kv_type = "f16";
  bool json = false;
  bool memory_bandwidth = false;
  std::string bandwidth_bytes;  // empty: core::default_bandwidth_buffer_bytes()
};

// What one invocation measured; the printers read only this.
struct BenchReport {
  const model::Model* model = nullptr;  // null for a bandwidth-only run
  engine::ModelFacts facts;
  std::optional<engine::BenchResult> bench;
  std::optional<core::BandwidthResult> bandwidth;
  unsigned threads = 0;
  std::optional<std::uint64_t> rss_before_load_bytes;  // the process's own footprint, for comparison
};

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string format_params(std::uint64_t n) {
  const double v = static_cast<double>(n);
  if (v >= 1e9) return fixed(v / 1e9, 2) + " B";
  if (v >= 1e6) return fixed(v / 1e6, 2) + " M";
  if (v >= 1e3) return fixed(v / 1e3, 2) + " K";
  return std::to_string(n);
}

// "Q4_K 84%, Q6_K 15%, F32 1%": shares of the tensor bytes, largest first.
std::string format_type_mix(const std::vector<engine::TypeShare>& types) {
  std::uint64_t total = 0;
  for (const auto& t : types) total += t.bytes;
  std::string s;
  for (const auto& t : types) {
    const double percent = total ? 100.0 * static_cast<double>(t.bytes) / static_cast<double>(total) : 0;
    if (!s.empty()) s += ", ";
    s += t.type + " " + (percent < 1.0 ? std::string("<1") : fixed(percent, 0)) + "%";
  }
  return s;
}

double gb_per_s(const core::BandwidthResult& b) {
  return b.bytes_per_second / 1e9;
}

// What a tg step reads: the weights, and at a depth the KV cache too.
double decode_bytes(const BenchReport& r) {
  return static_cast<double>(r.facts.decode_bytes_per_token + r.bench->kv_read_bytes_per_token);
}

// tg tokens/s × bytes read per token, as a share of the measured read bandwidth.
std::optional<double> decode_fraction(const BenchReport& r) {
  if (!r.bench || !r.bench->generation || !r.bandwidth) return std::nullopt;
  return r.bench->generation->mean * decode_bytes(r) / r.bandwidth->bytes_per_second;
}

// Each bracketed tg run × bytes read per token, as a share of the mean of the bandwidth readings
// just before and after it; sorted.
std::vector<double> bracketed_fractions(const BenchReport& r) {
  std::vector<double> fractions;
  if (!r.bench || !r.bench->bracketed) return fractions;
  const engine::BracketedDecode& b = *r.bench->bracketed;
  for (std::size_t i = 0; i < b.tokens_per_s.size(); ++i) {
    const double bandwidth = (b.bandwidth[i] + b.bandwidth[i + 1]) / 2;
    fractions.push_back(b.tokens_per_s[i] * decode_bytes(r) / bandwidth);
  }
  std::sort(fractions.begin(), fractions.end());
  return fractions;
}

double median(const std::vector<double>& sorted) {
  const std::size_t n = sorted.size();
  return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

// Characters on screen: UTF-8 continuation bytes take no column ("±" is two bytes, one column).
std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// A Markdown table, as llama-bench prints, so rows paste into BENCHMARKS.md.
void print_table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right) {
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::cout << "|";
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - display_width(row[c]), ' ');
      std::cout << " " << (right[c] ? pad + row[c] : row[c] + pad) << " |";
    }
    std::cout << "\n";
  };
  print_row(rows.front());
  std::cout << "|";
  for (std::size_t c = 0; c < width.size(); ++c) {
    std::cout << " " << std::string(width[c] - (right[c] ? 1 : 0), '-') << (right[c] ? ":" : "") << " |";
  }
  std::cout << "\n";
  for (std::size_t r = 1; r < rows.size(); ++r) print_row(rows[r]);
}

void print_text(const BenchReport& r, const BenchCommandOptions& options) {
  if (r.bench) {
    const std::string model = std::filesystem::path(options.model_path).filename().string();
    const std::vector<std::string> common = {model,
                                             memory::format_bytes(r.model->weights_bytes()),
                                             format_params(r.facts.params),
                                             format_type_mix(r.facts.types),
                                             std::to_string(r.threads),
                                             std::string(kernels::name_of(r.model->kernels().isa))};
    std::vector<std::vector<std::string>> rows = {
        {"model", "size", "params", "type", "threads", "isa", "test", "t/s"}};
    auto add = [&](const std::string& test, const engine::ThroughputStats& s) {
      rows.push_back(common);
      rows.back().push_back(test);
      rows.back().push_back(fixed(s.mean, 2) + " ± " + fixed(s.stddev, 2));
    };
    const std::string at_depth = options.depth > 0 ? " @ d" + std::to_string(options.depth) : "";
    if (r.bench->prompt) add("pp" + std::to_string(options.n_prompt) + at_depth, *r.bench->prompt);
    if (r.bench->generation) add("tg" + std::to_string(options.n_gen) + at_depth, *r.bench->generation);
    if (r.bench->streams) {
      add("tg" + std::to_string(options.n_gen) + " ×" + std::to_string(options.streams), *r.bench->streams);
    }
    print_table(rows, {false, true, true, false, true, false, true, true});
    std::cout << "\n";
    if (r.bench->streams && r.bench->generation) {
      std::cout << options.streams << " streams decoding together: " << fixed(r.bench->streams->mean, 2)
                << " t/s in all, " << fixed(r.bench->streams->mean / r.bench->generation->mean, 2)
                << "× one stream's\n";
    }
    const model::MemoryEstimate& e = r.bench->estimate;
    std::cout << "peak RSS: "
              << (r.bench->peak_rss_bytes ? memory::format_bytes(*r.bench->peak_rss_bytes) : "unknown")
              << (r.rss_before_load_bytes
                      ? " (" + memory::format_bytes(*r.rss_before_load_bytes) + " before loading)"
                      : std::string())
              << "; estimate for a " << r.bench->n_ctx
              << "-token sequence: " << memory::format_bytes(e.total()) << " (weights "
              << memory::format_bytes(e.weights_bytes) << " + KV " << memory::format_bytes(e.kv_cache_bytes)
              << " + scratch " << memory::format_bytes(e.scratch_bytes) << ")\n";
  }
  if (r.bandwidth) {
    const core::BandwidthResult& b = *r.bandwidth;
    std::cout << "memory read bandwidth: " << fixed(gb_per_s(b), 2) << " GB/s (" << b.threads << " thread"
              << (b.threads == 1 ? "" : "s") << ", " << memory::format_bytes(b.buffer_bytes)
              << " buffer, best of " << b.passes << " passes of " << b.read_loop << " loads; slowest "
              << fixed(b.worst_bytes_per_second / 1e9, 2) << " GB/s)\n";
  }
  if (const auto fraction = decode_fraction(r)) {
    const double per_token = decode_bytes(r);
    const std::string kv =
        r.bench->kv_read_bytes_per_token > 0
            ? " + " + memory::format_bytes(r.bench->kv_read_bytes_per_token) + " of KV cache"
            : std::string();
    std::cout << "decode: " << fixed(r.bench->generation->mean, 2) << " t/s × "
              << memory::format_bytes(r.facts.decode_bytes_per_token) << " of weights" << kv
              << " per token = " << fixed(r.bench->generation->mean * per_token / 1e9, 2) << " GB/s, "
              << fixed(100 * *fraction, 1) << "% of the read bandwidth\n";
  }
  if (const std::vector<double> fractions = bracketed_fractions(r); !fractions.empty()) {
    std::cout << "decode against the bandwidth read just before and after each run: "
              << fixed(100 * median(fractions), 1) << "% (median of " << fractions.size() << "; "
              << fixed(100 * fractions.front(), 1) << "–" << fixed(100 * fractions.back(), 1) << "%)\n";
  }
}

// A figure, or null when the test was skipped (JSON has no NaN).
nlohmann::ordered_json optional_figure(const std::optional<engine::ThroughputStats>& s, bool stddev) {
  if (!s) return nullptr;
  return stddev ? s->stddev : s->mean;
}

void print_json(const BenchReport& r, const BenchCommandOptions& options) {
  nlohmann::ordered_json out;
  out["threads"] = r.threads;
  if (r.bench) {
    const engine::BenchResult& b = *r.bench;
    out["model"] = options.model_path;
    out["model_file_bytes"] = r.model->file_size();
    out["weight_bytes"] = r.model->weights_bytes();
    out["params"] = r.facts.params;
    out["types"] = nlohmann::ordered_json::array();
    for (const auto& t : r.facts.types) {
      out["types"].push_back({{"type", t.type}, {"tensors", t.tensors}, {"bytes", t.bytes}});
    }
    out["isa"] = kernels::name_of(r.model->kernels().isa);
    out["n_prompt"] = options.n_prompt;
    out["n_gen"] = options.n_gen;
    out["n_depth"] = options.depth;
    out["reps"] = options.repetitions;
    out["batch"] = b.max_batch;
    out["kv_type"] = options.kv_type;
    out["n_ctx"] = b.n_ctx;
    out["tg_tokens"] = "random";
    out["pp_tokens_per_s"] = optional_figure(b.prompt, false);
    out["pp_tokens_per_s_stddev"] = optional_figure(b.prompt, true);
    out["pp_samples"] =
        b.prompt ? nlohmann::ordered_json(b.prompt->samples) : nlohmann::ordered_json::array();
    out["tg_tokens_per_s"] = optional_figure(b.generation, false);
    out["tg_tokens_per_s_stddev"] = optional_figure(b.generation, true);
    out["tg_samples"] =
        b.generation ? nlohmann::ordered_json(b.generation->samples) : nlohmann::ordered_json::array();
    out["streams"] = options.streams;
    out["tg_streams_tokens_per_s"] = optional_figure(b.streams, false);
    out["tg_streams_tokens_per_s_stddev"] = optional_figure(b.streams, true);
    out["peak_rss_bytes"] =
        b.peak_rss_bytes ? nlohmann::ordered_json(*b.peak_rss_bytes) : nlohmann::ordered_json(nullptr);
    out["rss_before_load_bytes"] = r.rss_before_load_bytes ? nlohmann::ordered_json(*r.rss_before_load_bytes)
                                                           : nlohmann::ordered_json(nullptr);
    out["memory_estimate"] = {{"weights_bytes", b.estimate.weights_bytes},
                              {"kv_cache_bytes", b.estimate.kv_cache_bytes},
                              {"scratch_bytes", b.estimate.scratch_bytes},
                              {"total_bytes", b.estimate.total()}};
    out["decode_bytes_per_token"] = r.facts.decode_bytes_per_token;
    out["kv_read_bytes_per_token"] = b.kv_read_bytes_per_token;
  }
  if (r.bandwidth) {
    out["read_bandwidth_gb_per_s"] = gb_per_s(*r.bandwidth);
    out["bandwidth_buffer_bytes"] = r.bandwidth->buffer_bytes;
    out["bandwidth_passes"] = r.bandwidth->passes;
    out["bandwidth_read_loop"] = r.bandwidth->read_loop;
  }
  if (const auto fraction = decode_fraction(r)) out["decode_bandwidth_fraction"] = *fraction;
  if (const std::vector<double> fractions = bracketed_fractions(r); !fractions.empty()) {
    out["decode_bandwidth_fraction_bracketed"] = median(fractions);
    out["bracketed_decode_tokens_per_s"] = r.bench->bracketed->tokens_per_s;
    out["bracketed_read_bandwidth_gb_per_s"] = nlohmann::ordered_json::array();
    for (double b : r.bench->bracketed->bandwidth)
      out["bracketed_read_bandwidth_gb_per_s"].push_back(b / 1e9);
  }
  std::cout << out.dump(2) << "\n";
}

void progress(const std::string& line) {
  std::cerr << "bench: " << line << "\n";
}

Status run_bench_command(const BenchCommandOptions& options) {
  if (options.model_path.empty() && !options.memory_bandwidth) {
    return make_error(ErrorCode::kInvalidArgument, "give a MODEL to benchmark, or --memory-bandwidth");
  }
  core::BandwidthOptions bandwidth_options;
  if (!options.bandwidth_bytes.empty()) {
    auto bytes = memory::parse_byte_size(options.bandwidth_bytes);
    if (!bytes) return bytes.error().with_context("--bandwidth-bytes");
    bandwidth_options.buffer_bytes = *bytes;
  }

  BenchReport report;
  std::unique_ptr<model::Model> model;
  // Made at the first reading, after the model's tests, so its buffer does not count in their peak
  // RSS.
  std::optional<core::BandwidthProbe> probe;
  auto probe_on = [&](core::ThreadPool& pool) -> Status {
    if (probe) return {};
    const std::uint64_t bytes = bandwidth_options.buffer_bytes != 0 ? bandwidth_options.buffer_bytes
                                                                    : core::default_bandwidth_buffer_bytes();
    progress("memory read bandwidth: " + memory::format_bytes(bytes) + " buffer, " +
             std::to_string(pool.size()) + (pool.size() == 1 ? " thread" : " threads"));
    auto made = core::BandwidthProbe::create(pool, bandwidth_options);
    if (!made) return made.error();
    probe.emplace(std::move(*made));
    return {};
  };
  if (!options.model_path.empty()) {
    if (auto rss = engine::read_peak_rss_bytes()) report.rss_before_load_bytes = *rss;
    auto loaded = model::Model::load(options.model_path, {.threads = options.threads});
    if (!loaded) return loaded.error();
    model = std::move(*loaded);
    report.model = model.get();
    report.threads = model->threads();
    report.facts = engine::model_facts(*model);
    progress(options.model_path + ": " + memory::format_bytes(model->weights_bytes()) + " of weights, " +
             std::to_string(model->threads()) + " threads, " +
             std::string(kernels::name_of(model->kernels().isa)) + " kernels; tg feeds random tokens");
    auto kv_type = kernels::parse_kv_type(options.kv_type);
    if (!kv_type) return kv_type.error().with_context("--kv-type");
    engine::BenchOptions bench_options{.n_prompt = options.n_prompt,
                                       .n_gen = options.n_gen,
                                       .depth = options.depth,
                                       .repetitions = options.repetitions,
                                       .batch = options.batch,
                                       .kv_type = *kv_type,
                                       .streams = options.streams,
                                       .progress = progress};
    if (options.memory_bandwidth) {
      // Two passes per reading, the better counting, as quick as a reading can be and still
      // skip a pass that a neighbour's burst slowed.
      bench_options.bandwidth_probe = [&]() -> Result<double> {
        PENSIEVE_TRY(probe_on(model->thread_pool()));
        auto reading = probe->measure(2);
        if (!reading) return reading.error();
        return reading->bytes_per_second;
      };
    }
    auto result = engine::run_bench(*model, bench_options);
    if (!result) return result.error();
    report.bench = std::move(*result);
  }
  if (options.memory_bandwidth) {
    std::unique_ptr<core::ThreadPool> own_pool;
    if (!model) {
      own_pool = std::make_unique<core::ThreadPool>(options.threads != 0 ? options.threads
                                                                         : core::default_thread_count());
    }
    core::ThreadPool& pool = model ? model->thread_pool() : *own_pool;
    report.threads = pool.size();
    PENSIEVE_TRY(probe_on(pool));
    auto bandwidth = probe->measure(core::BandwidthOptions{}.passes);
    if (!bandwidth) return bandwidth.error();
    report.bandwidth = *bandwidth;
  }

  if (options.json) {
    print_json(report, options);
  } else {
    print_text(report, options);
  }
  return {};
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "bench", "Measure prompt (pp) and generation (tg) tokens/s like llama-bench, or memory read bandwidth");
  auto options = std::make_shared<BenchCommandOptions>();
  cmd->add_option("model", options->model_path, kModelArgumentHelp);
  add_pull_flag(*cmd, options->pull);
  cmd->add_option("--threads,-t", options->threads, "compute threads (default: one per physical core)");
  cmd->add_option("--n-prompt,-p", options->n_prompt, "prompt tokens of the pp test; 0 skips it")
      ->capture_default_str();
  cmd->add_option("--n-gen,-n", options->n_gen,
                  "tokens generated by the tg test, one random token id per step; 0 skips it")
      ->capture_default_str();
  cmd->add_option("--depth,-d", options->depth,
                  "tokens already in the context when each pp and tg run starts (computed once, untimed), "
                  "as llama-bench's -d")
      ->capture_default_str();
  cmd->add_option("--repetitions,-r", options->repetitions, "timed runs of each test, after one warm-up")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  cmd->add_option("--kv-type", options->kv_type, "KV cache element type: f16 (as serve), q8_0 or f32")
      ->capture_default_str();
  cmd->add_option("--batch-size,-b", options->batch, "prompt tokens per forward pass")
      ->check(CLI::Range(1u, model::Model::kMaxContext))
      ->capture_default_str();
  cmd->add_option(
         "--streams,-s", options->streams,
         "also run the tg test as this many streams decoding together (batched steps, as serve does)")
      ->check(CLI::Range(0u, 256u));
  cmd->add_flag("--json", options->json, "print one JSON object instead of the table");
  cmd->add_flag("--memory-bandwidth", options->memory_bandwidth,
                "measure memory read bandwidth (GB/s); with MODEL, also decode as a share of it");
  cmd->add_option("--bandwidth-bytes", options->bandwidth_bytes,
                  "buffer read by --memory-bandwidth, e.g. 64MiB (default: 4x the last-level cache, at least "
                  "1 GiB); smaller buffers measure caches");
  cmd->callback([options, &exit_code] {
    if (!options->model_path.empty() &&
        !resolve_model_argument("bench", options->model_path, options->pull)) {
      exit_code = 1;
      return;
    }
    const Status status = run_bench_command(*options);
    if (!status) {
      std::cerr << "pensieve bench: " << status.error().message << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace pensieve::cli
