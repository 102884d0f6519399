// Encode throughput on a 60 KB prompt mixing JSON tool schemas, English and code — what every
// agent turn sends — for the vocabularies the fixtures carry. Target: >= 20 MB/s on one core
// with the GPT-2 vocabulary.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "mixed_prompt.hpp"
#include "support/derived_fixtures.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

using pensieve::tokenizer::Tokenizer;

constexpr std::size_t kPromptBytes = 60 * 1024;

const Tokenizer& load(const std::string& name) {
  static std::map<std::string, Tokenizer>* cache = new std::map<std::string, Tokenizer>();
  auto it = cache->find(name);
  if (it == cache->end()) {
    // The gpt-2-pre-* vocabularies are derived from ggml-vocab-gpt-2.gguf on first use.
    auto tok = Tokenizer::from_file(pensieve::testing::fixture_path("vocab/" + name));
    if (!tok) {
      std::fprintf(stderr, "%s\n", tok.error().message.c_str());
      std::abort();
    }
    it = cache->emplace(name, std::move(*tok)).first;
  }
  return it->second;
}

void encode_mixed_prompt(benchmark::State& state, const std::string& vocab) {
  const Tokenizer& tok = load(vocab);
  const std::string prompt = pensieve::bench::make_mixed_prompt(kPromptBytes);
  std::size_t n_tokens = 0;
  for (auto _ : state) {
    auto ids = tok.encode(prompt, false);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * prompt.size()));
  state.counters["tokens"] = static_cast<double>(n_tokens);
}

void decode_mixed_prompt(benchmark::State& state, const std::string& vocab) {
  const Tokenizer& tok = load(vocab);
  const std::string prompt = pensieve::bench::make_mixed_prompt(kPromptBytes);
  const auto ids = tok.encode(prompt, false);
  for (auto _ : state) {
    auto text = tok.decode(ids);
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * prompt.size()));
}

BENCHMARK_CAPTURE(encode_mixed_prompt, gpt2, std::string("ggml-vocab-gpt-2.gguf"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_mixed_prompt, gpt2_llama3_pre, std::string("ggml-vocab-gpt-2-pre-llama3.gguf"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_mixed_prompt, gpt2_qwen2_pre, std::string("ggml-vocab-gpt-2-pre-qwen2.gguf"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_mixed_prompt, starcoder, std::string("ggml-vocab-starcoder.gguf"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_mixed_prompt, deepseek_coder, std::string("ggml-vocab-deepseek-coder.gguf"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_mixed_prompt, llama_spm, std::string("ggml-vocab-llama-spm.gguf"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decode_mixed_prompt, gpt2, std::string("ggml-vocab-gpt-2.gguf"))->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
