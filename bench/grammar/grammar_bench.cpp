// Token mask time during random walks through the Claude-Code-shaped tool-call grammar
// (tests/unit/grammar/schema_corpus.hpp), in Hermes' JSON form or (PENSIEVE_GRAMMAR_SYNTAX=markup)
// Qwen3-Coder's markup. Target: mean under 50 us and worst under 1 ms per mask
// for a ~150k-token vocabulary. The vocabulary is the GGUF named by PENSIEVE_GRAMMAR_VOCAB (e.g.
// Qwen3's 151k, converted by tools/tokenizer_json_to_gguf), else the GPT-2 fixture (50k).
//
// Reported per benchmark: mean_us, p99_us and max_us of one allowed() call (thread CPU time), the share of
// masks served from the state cache, and (Precompute) the TokenMasker constructor's time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "grammar/builder.hpp"
#include "grammar/matcher.hpp"
#include "grammar/token_masker.hpp"
#include "support/derived_fixtures.hpp"
#include "tokenizer/tokenizer.hpp"
#include "unit/grammar/schema_corpus.hpp"

namespace {

using namespace pensieve::grammar;

const std::vector<std::string>& vocab() {
  static const std::vector<std::string>* bytes = [] {
    const char* env = std::getenv("PENSIEVE_GRAMMAR_VOCAB");
    const std::string path = env ? env : pensieve::testing::fixture_path("vocab/ggml-vocab-gpt-2.gguf");
    auto tok = pensieve::tokenizer::Tokenizer::from_file(path);
    if (!tok) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), tok.error().message.c_str());
      std::abort();
    }
    auto* out = new std::vector<std::string>(static_cast<std::size_t>(tok->n_vocab()));
    for (std::int32_t i = 0; i < tok->n_vocab(); ++i)
      if (tok->token_type(i) != pensieve::tokenizer::TokenType::kControl)
        tok->append_piece(i, {}, (*out)[static_cast<std::size_t>(i)]);
    return out;
  }();
  return *bytes;
}

// The same tools in Qwen3-Coder's markup (<function=NAME> with one <parameter=…> per argument),
// in the form chat/tool_choice builds for that family.
std::shared_ptr<const Grammar> markup_tool_call_grammar() {
  GrammarBuilder b;
  const MarkupForm form = MarkupForm::qwen3_coder();
  std::vector<GrammarBuilder::Rule> calls;
  for (const auto& [name, schema] : testing::claude_code_tools()) {
    auto args = b.markup_arguments(schema, form);
    if (!args) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), args.error().message.c_str());
      std::abort();
    }
    calls.push_back(b.sequence({b.literal("<function=" + name + ">\n"), *args, b.literal("</function>")}));
  }
  const auto one =
      b.sequence({b.literal("<tool_call>\n"), b.alternatives(calls), b.literal("\n</tool_call>")});
  return b.build(b.sequence({one, b.repeat(b.sequence({b.literal("\n"), one}), 0, std::nullopt)}));
}

// PENSIEVE_GRAMMAR_SYNTAX=markup measures the Qwen3-Coder form, else the Hermes JSON form.
bool markup() {
  static const bool yes = [] {
    const char* syntax = std::getenv("PENSIEVE_GRAMMAR_SYNTAX");
    return syntax != nullptr && std::string(syntax) == "markup";
  }();
  return yes;
}

const std::shared_ptr<const Grammar>& grammar() {
  static const auto g =
      markup() ? markup_tool_call_grammar() : testing::tool_call_grammar(testing::claude_code_tools());
  return g;
}

// This thread's CPU time: on a shared machine wall-clock times include other processes' turns.
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

bool has(const std::vector<std::uint64_t>& mask, std::size_t id) {
  return (mask[id >> 6] >> (id & 63)) & 1;
}

// One walk of up to `max_steps` tokens; appends each allowed() time in microseconds.
void walk(TokenMasker& masker, std::mt19937& rng, int max_steps, std::vector<double>& times) {
  const auto& bytes = vocab();
  Matcher m(grammar());
  std::vector<std::uint64_t> mask;
  std::vector<std::uint32_t> all, closing;
  for (int step = 0; step < max_steps; ++step) {
    if (m.must_end() || (m.can_end() && rng() % 4 == 0)) return;
    const double t0 = thread_cpu_us();
    masker.allowed(m, mask);
    times.push_back(thread_cpu_us() - t0);
    all.clear();
    closing.clear();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (!has(mask, i)) continue;
      all.push_back(static_cast<std::uint32_t>(i));
      // (In markup a value ends at its closing tag.)
      if (bytes[i].find_first_of(markup() ? "\"}]<" : "\"}]") != std::string::npos)
        closing.push_back(static_cast<std::uint32_t>(i));
    }
    if (all.empty()) return;
    // Mostly free text inside strings, as real arguments are, with a pull towards closing.
    const bool close = !closing.empty() && static_cast<int>(rng() % 100) < 5 + step / 10;
    const auto& from = close ? closing : all;
    if (!m.accept(bytes[from[rng() % from.size()]])) std::abort();
  }
}

void report(benchmark::State& state, std::vector<double>& times, const TokenMasker& masker) {
  std::sort(times.begin(), times.end());
  double sum = 0;
  for (const double t : times) sum += t;
  const auto stats = masker.stats();
  state.counters["masks"] = static_cast<double>(times.size());
  state.counters["mean_us"] = times.empty() ? 0 : sum / static_cast<double>(times.size());
  state.counters["p99_us"] = times.empty() ? 0 : times[times.size() * 99 / 100];
  state.counters["max_us"] = times.empty() ? 0 : times.back();
  state.counters["cache_hit"] =
      static_cast<double>(stats.cache_hits) /
      static_cast<double>(std::max<std::uint64_t>(1, stats.cache_hits + stats.cache_misses));
  state.counters["vocab"] = static_cast<double>(vocab().size());
}

// One masker reused across walks, as the engine keeps one per (grammar, vocabulary).
void BM_MaskDuringWalks(benchmark::State& state) {
  TokenMasker masker(grammar(), vocab());
  std::mt19937 rng(1);
  std::vector<double> times;
  for (auto _ : state) walk(masker, rng, 300, times);
  report(state, times, masker);
}
BENCHMARK(BM_MaskDuringWalks)->Iterations(40)->Unit(benchmark::kMillisecond);

// A fresh masker per walk: the first generation with a new tool set (colder cache).
void BM_MaskFirstWalk(benchmark::State& state) {
  std::mt19937 rng(2);
  std::vector<double> times;
  std::unique_ptr<TokenMasker> last;
  for (auto _ : state) {
    state.PauseTiming();
    last = std::make_unique<TokenMasker>(grammar(), vocab());
    state.ResumeTiming();
    walk(*last, rng, 300, times);
  }
  report(state, times, *last);
}
BENCHMARK(BM_MaskFirstWalk)->Iterations(5)->Unit(benchmark::kMillisecond);

void BM_Precompute(benchmark::State& state) {
  for (auto _ : state) {
    TokenMasker masker(grammar(), vocab());
    benchmark::DoNotOptimize(masker.vocab_size());
  }
  state.counters["grammar_nodes"] = static_cast<double>(grammar()->node_count());
}
BENCHMARK(BM_Precompute)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
