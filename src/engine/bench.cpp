#include "engine/bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "kernels/kv_cache.hpp"
#include "memory/proc_parsers.hpp"
#include "memory/text_file.hpp"
#include "tensor/type.hpp"

namespace pensieve::engine {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::uint64_t matrix_bytes(const kernels::WeightMatrix& w) {
  return std::uint64_t{w.rows} * w.row_bytes;
}

// Runs the two tests over one sequence, cleared before each run: an empty sequence computes the
// same as a new one, and reusing it keeps allocation and first-touch page faults out of the timing.
class BenchRunner {
 public:
  BenchRunner(const model::Model& model, model::Sequence seq, const BenchOptions& options)
      : model_(model), seq_(std::move(seq)), options_(options), logits_(model.hparams().n_vocab) {
    std::mt19937_64 rng(options.seed);
    std::uniform_int_distribution<std::int32_t> token(0,
                                                      static_cast<std::int32_t>(model.hparams().n_vocab - 1));
    prompt_.resize(options.n_prompt);
    for (auto& t : prompt_) t = token(rng);
    gen_.resize(options.n_gen + 1);  // the first one is the token the sequence starts with
    for (auto& t : gen_) t = token(rng);
    depth_.resize(options.depth);
    for (auto& t : depth_) t = token(rng);
  }

  // The depth's tokens into the sequence, once; each run then starts from them.
  Status fill_depth() {
    if (depth_.empty()) return {};
    report("depth " + std::to_string(depth_.size()));
    seq_.clear();
    return model_.forward(seq_, depth_, {}, {});
  }

  Result<double> prompt_run() {
    seq_.truncate(options_.depth);
    const std::uint32_t last = options_.n_prompt - 1;
    const auto start = Clock::now();
    PENSIEVE_TRY(model_.forward(seq_, prompt_, std::span(&last, 1), logits_));
    return options_.n_prompt / seconds_since(start);
  }

  Result<double> generation_run() {
    seq_.truncate(options_.depth);
    PENSIEVE_TRY(model_.forward(seq_, std::span(gen_.data(), 1), {}, {}));
    const std::uint32_t row = 0;
    const auto start = Clock::now();
    for (std::uint32_t i = 1; i <= options_.n_gen; ++i) {
      PENSIEVE_TRY(model_.forward(seq_, std::span(gen_.data() + i, 1), std::span(&row, 1), logits_));
    }
    return options_.n_gen / seconds_since(start);
  }

  Result<double> streams_run() {
    const std::uint32_t streams = options_.streams;
    const std::size_t vocab = model_.hparams().n_vocab;
    if (!workspace_) {
      auto workspace = model_.create_workspace(streams);
      if (!workspace) return workspace.error();
      workspace_.emplace(std::move(*workspace));
      for (std::uint32_t s = 0; s < streams; ++s) {
        auto seq = model_.create_sequence(options_.n_gen + 1, {.max_batch = 0, .kv_type = options_.kv_type});
        if (!seq) return seq.error();
        streams_.push_back(std::move(*seq));
      }
      stream_logits_.resize(streams * vocab);
    }
    // Stream s's token at step i: gen_[(i + s) % (n_gen + 1)], so the streams differ.
    auto step = [&](std::uint32_t i, bool logits) {
      std::vector<model::BatchPart> parts;
      for (std::uint32_t s = 0; s < streams; ++s) {
        const std::size_t at = (i + s) % gen_.size();
        model::BatchPart part{&streams_[s], std::span(gen_.data() + at, 1), {}, {}};
        if (logits) {
          part.logit_rows = std::span(&kFirstRow, 1);
          part.logits = std::span(stream_logits_.data() + s * vocab, vocab);
        }
        parts.push_back(part);
      }
      return model_.forward_batch(*workspace_, parts);
    };
    for (auto& seq : streams_) seq.clear();
    PENSIEVE_TRY(step(0, false));
    const auto start = Clock::now();
    for (std::uint32_t i = 1; i <= options_.n_gen; ++i) PENSIEVE_TRY(step(i, true));
    return static_cast<double>(streams) * options_.n_gen / seconds_since(start);
  }

  // The warm-up, then the timed repetitions of one test.
  template <typename Run>
  Result<ThroughputStats> measure(const std::string& name, Run run) {
    report("warm-up " + name);
    PENSIEVE_TRY(run());
    std::vector<double> samples;
    for (std::uint32_t rep = 1; rep <= options_.repetitions; ++rep) {
      auto tokens_per_s = run();
      if (!tokens_per_s) return tokens_per_s.error();
      samples.push_back(*tokens_per_s);
      char figure[32];
      std::snprintf(figure, sizeof figure, "%.2f", *tokens_per_s);
      report(name + " " + std::to_string(rep) + "/" + std::to_string(options_.repetitions) + ": " + figure +
             " t/s");
    }
    return summarize(std::move(samples));
  }

 private:
  void report(const std::string& line) const {
    if (options_.progress) options_.progress(line);
  }

  const model::Model& model_;
  model::Sequence seq_;
  const BenchOptions& options_;
  std::vector<float> logits_;         // (n_vocab) of the one row each call asks for
  std::vector<std::int32_t> prompt_;  // (n_prompt)
  std::vector<std::int32_t> gen_;     // (n_gen + 1)
  std::vector<std::int32_t> depth_;   // (depth)
  // The tg×S test's sequences, their shared workspace and their logits, made on its first run.
  static constexpr std::uint32_t kFirstRow = 0;
  std::optional<model::Workspace> workspace_;
  std::vector<model::Sequence> streams_;
  std::vector<float> stream_logits_;
};

}  // namespace

ThroughputStats summarize(std::vector<double> samples) {
  ThroughputStats s;
  s.samples = std::move(samples);
  if (s.samples.empty()) return s;
  double sum = 0;
  for (double x : s.samples) sum += x;
  s.mean = sum / static_cast<double>(s.samples.size());
  if (s.samples.size() > 1) {
    double squares = 0;
    for (double x : s.samples) squares += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(squares / static_cast<double>(s.samples.size() - 1));
  }
  return s;
}

Result<BenchResult> run_bench(const model::Model& model, const BenchOptions& options) {
  if (options.repetitions == 0) {
    return make_error(ErrorCode::kInvalidArgument, "repetitions must be at least 1");
  }
  if (options.batch == 0) return make_error(ErrorCode::kInvalidArgument, "batch size must be at least 1");
  if (options.n_prompt == 0 && options.n_gen == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "nothing to measure: both the prompt and generation lengths are 0");
  }
  if (options.depth > 0 && options.streams > 1) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "a depth applies to the pp and tg tests, not to several streams: give one or the other");
  }
  // Both tests start from the depth's tokens: pp adds n_prompt positions, tg 1 + n_gen.
  const std::uint64_t n_ctx =
      options.depth +
      std::max<std::uint64_t>(options.n_prompt, options.n_gen == 0 ? 0 : std::uint64_t{options.n_gen} + 1);
  if (n_ctx > model::Model::kMaxContext) {
    return make_error(ErrorCode::kInvalidArgument, std::to_string(n_ctx) +
                                                       " tokens exceed the context limit of " +
                                                       std::to_string(model::Model::kMaxContext));
  }
  BenchResult result;
  result.n_ctx = static_cast<std::uint32_t>(n_ctx);
  // (The depth goes in the same chunks as a prompt.)
  result.max_batch =
      std::max<std::uint32_t>(1, std::min(options.batch, std::max(options.n_prompt, options.depth)));
  const model::SequenceOptions sequence_options{.max_batch = result.max_batch, .kv_type = options.kv_type};
  result.estimate = model::estimate_memory(model.hparams(), model.weights_bytes(), result.n_ctx, 1,
                                           sequence_options, model.threads());

  if (options.depth > 0) {
    // A tg step at position p reads p + 1 positions of every layer; the run's mean is depth + 1 +
    // n_gen / 2 (the untimed first token, then n_gen steps).
    const model::Hyperparams& hp = model.hparams();
    const std::uint64_t per_position = std::uint64_t{hp.n_layer} * hp.n_head_kv *
                                       (kernels::kv_row_bytes(options.kv_type, hp.head_dim_k) +
                                        kernels::kv_row_bytes(options.kv_type, hp.head_dim_v));
    result.kv_read_bytes_per_token = per_position * (options.depth + 1) + per_position * options.n_gen / 2;
  }

  auto seq = model.create_sequence(result.n_ctx, sequence_options);
  if (!seq) return seq.error();
  BenchRunner runner(model, std::move(*seq), options);
  PENSIEVE_TRY(runner.fill_depth());
  const std::string at_depth = options.depth > 0 ? " @ d" + std::to_string(options.depth) : "";
  if (options.n_prompt > 0) {
    auto stats = runner.measure("pp" + std::to_string(options.n_prompt) + at_depth,
                                [&] { return runner.prompt_run(); });
    if (!stats) return stats.error();
    result.prompt = std::move(*stats);
  }
  if (options.n_gen > 0) {
    auto stats = runner.measure("tg" + std::to_string(options.n_gen) + at_depth,
                                [&] { return runner.generation_run(); });
    if (!stats) return stats.error();
    result.generation = std::move(*stats);
  }
  if (options.n_gen > 0 && options.streams > 1) {
    auto stats = runner.measure("tg" + std::to_string(options.n_gen) + "x" + std::to_string(options.streams),
                                [&] { return runner.streams_run(); });
    if (!stats) return stats.error();
    result.streams = std::move(*stats);
  }
  if (auto peak = read_peak_rss_bytes()) result.peak_rss_bytes = *peak;
  if (options.n_gen > 0 && options.bandwidth_probe) {
    BracketedDecode bracketed;
    for (std::uint32_t rep = 0; rep <= options.repetitions; ++rep) {
      auto bandwidth = options.bandwidth_probe();
      if (!bandwidth) return bandwidth.error();
      bracketed.bandwidth.push_back(*bandwidth);
      if (rep == options.repetitions) break;
      auto tokens_per_s = runner.generation_run();
      if (!tokens_per_s) return tokens_per_s.error();
      bracketed.tokens_per_s.push_back(*tokens_per_s);
    }
    result.bracketed = std::move(bracketed);
  }
  return result;
}

ModelFacts model_facts(const model::Model& model) {
  ModelFacts facts;
  std::map<std::string, TypeShare> by_type;
  for (const auto& t : model.metadata().tensors) {
    facts.params += t.element_count;
    TypeShare& share = by_type[std::string(tensor::name_of(t.type))];
    share.type = tensor::name_of(t.type);
    ++share.tensors;
    share.bytes += t.data.size();
  }
  for (auto& [name, share] : by_type) facts.types.push_back(std::move(share));
  std::stable_sort(facts.types.begin(), facts.types.end(),
                   [](const TypeShare& a, const TypeShare& b) { return a.bytes > b.bytes; });

  const model::Weights& w = model.weights();
  const model::Hyperparams& hp = model.hparams();
  std::uint64_t bytes = w.bytes;
  if (w.output.data != w.token_embd.data) bytes -= matrix_bytes(w.token_embd);
  if (hp.is_moe()) {
    for (const auto& layer : w.layers) {
      const std::uint64_t experts =
          matrix_bytes(layer.gate_exps) + matrix_bytes(layer.up_exps) + matrix_bytes(layer.down_exps);
      bytes -= experts / hp.n_expert * (hp.n_expert - hp.n_expert_used);
    }
  }
  facts.decode_bytes_per_token = bytes;
  return facts;
}

Result<std::uint64_t> read_peak_rss_bytes() {
  std::string status;
  PENSIEVE_TRY(memory::read_text_file("/proc/self/status", status));
  const auto peak = memory::find_kb_field(status, "VmHWM");
  if (!peak) return make_error(ErrorCode::kInvalidFormat, "/proc/self/status has no VmHWM line");
  return *peak;
}

}  // namespace pensieve::engine
