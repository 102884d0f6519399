// Per-token cost outside the model: a generated id from the scheduler's side of the OutputQueue
// to SSE bytes ready for the socket (decode, stop sequences, the Qwen3 family parser with
// reasoning, MessageBuilder), on the qwen3 fixture's tokenizer and template. Streaming and not.
#include <benchmark/benchmark.h>

#include "api/chat_frontend.hpp"
#include "api/response_stream.hpp"
#include "gguf/reader.hpp"
#include "support/sample_answer.hpp"

namespace pensieve::api {
namespace {

using namespace std::chrono_literals;

void BM_IdsToAnswerBytes(benchmark::State& state) {
  const bool streaming = state.range(0) != 0;
  static auto file = gguf::File::open(PENSIEVE_FIXTURES "/models/qwen3-q8_0.gguf");
  static auto frontend = ChatFrontend::from_gguf(file->contents());
  const std::string body = std::string(R"({"model": "m", "max_tokens": 100000, "stream": )") +
                           (streaming ? "true" : "false") +
                           R"(, "thinking": {"type": "enabled", "budget_tokens": 2000},
      "stop_sequences": ["</answer>"], "messages": [{"role": "user", "content": "fix it"}]})";
  auto parsed = parse_messages_request(std::string_view(body), RequestKind::kCreate);
  auto prompt = (*frontend)->prompt(*parsed.request);
  const std::vector<std::int32_t> tokens = (*frontend)->tokenizer().encode(testing::sample_answer(40), false);
  const AnswerFormat format = anthropic_format();
  std::size_t bytes = 0;
  for (auto _ : state) {
    ResponseStream stream(*parsed.request, **frontend, *prompt, "req_bench", format);
    engine::OutputQueue& queue = *stream.queue();
    std::string out;
    queue.on_prompt_cached(0);
    for (const std::int32_t t : tokens) {
      queue.on_token(t);
      stream.poll(out, 0ms);
      bytes += out.size();
      out.clear();
    }
    engine::GenerationResult done;
    done.reason = engine::FinishReason::kEndOfGeneration;
    done.output_tokens = static_cast<std::int64_t>(tokens.size());
    queue.on_finished(done);
    stream.poll(out, 0ms);
    bytes += out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * tokens.size()));
  state.counters["ns_per_token"] =
      benchmark::Counter(static_cast<double>(state.iterations() * tokens.size()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["tokens"] = static_cast<double>(tokens.size());
  state.counters["bytes_per_token"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations() * tokens.size());
}
BENCHMARK(BM_IdsToAnswerBytes)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pensieve::api

BENCHMARK_MAIN();
