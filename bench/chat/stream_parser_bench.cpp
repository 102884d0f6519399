// Stream parser throughput: a long answer (prose, then tool calls) fed in 4-byte pieces, roughly
// what a detokenizer hands over per token, through each family's parser.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "chat/stream_parser.hpp"

namespace {

using pensieve::chat::ChatEvent;
using pensieve::chat::TemplateFamily;

std::string prose(size_t bytes) {
  const std::string sentence = "The quick brown fox checks the <b>weather</b> in 東京 and writes it down. ";
  std::string text;
  while (text.size() < bytes) text += sentence;
  return text;
}

std::string answer(TemplateFamily family) {
  const std::string body = prose(16 * 1024);
  const std::string content = prose(4 * 1024);
  std::string quoted;
  for (char c : content) quoted += c == '"' ? std::string("\\\"") : std::string(1, c);
  switch (family) {
    case TemplateFamily::kHermes:
      return "<think>\n" + body + "\n</think>\n\n" + body + "\n<tool_call>\n{\"name\": \"write\", \"arguments\": {\"path\": \"/a\", \"content\": \"" +
             quoted + "\"}}\n</tool_call>";
    case TemplateFamily::kQwen3Coder:
      return body + "\n<tool_call>\n<function=write>\n<parameter=path>\n/a\n</parameter>\n<parameter=content>\n" + content +
             "\n</parameter>\n</function>\n</tool_call>";
    case TemplateFamily::kGptOss:
      return "<|channel|>analysis<|message|>" + body + "<|end|><|start|>assistant<|channel|>final<|message|>" + body +
             "<|end|><|start|>assistant to=functions.write<|channel|>commentary json<|message|>{\"path\": \"/a\", \"content\": \"" +
             quoted + "\"}<|call|>";
    default: return body;
  }
}

void BM_StreamParser(benchmark::State& state, TemplateFamily family, bool think) {
  const std::string text = answer(family);
  std::vector<ChatEvent> events;
  for (auto _ : state) {
    auto parser = pensieve::chat::make_stream_parser({family, think}, {});
    for (size_t at = 0; at < text.size(); at += 4) {
      events.clear();
      parser->feed(std::string_view(text).substr(at, 4), events);
      benchmark::DoNotOptimize(events.data());
    }
    parser->finish(events);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

BENCHMARK_CAPTURE(BM_StreamParser, hermes_qwen3, TemplateFamily::kHermes, true);
BENCHMARK_CAPTURE(BM_StreamParser, qwen3_coder, TemplateFamily::kQwen3Coder, false);
BENCHMARK_CAPTURE(BM_StreamParser, gpt_oss, TemplateFamily::kGptOss, false);

}  // namespace
