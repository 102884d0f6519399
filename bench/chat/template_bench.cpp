// Chat-template rendering speed: parse once, render per request, on fixture templates with the
// tool round-trip conversation, and on a long conversation (200 turns) to show scaling.
#include <benchmark/benchmark.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "jinja/template.hpp"

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::ordered_json context_for(int extra_turns) {
  const auto all =
      nlohmann::ordered_json::parse(read(std::string(PENSIEVE_FIXTURES) + "/chat/conversations.json"));
  const auto& conv = all.at("conversations").at("tool_roundtrip");
  nlohmann::ordered_json context = {
      {"bos_token", ""}, {"eos_token", "<|im_end|>"}, {"add_generation_prompt", true}};
  context["tools"] = conv.at("tools");
  context["messages"] = conv.at("messages");
  for (int i = 0; i < extra_turns; ++i) {
    context["messages"].push_back(
        {{"role", "user"}, {"content", "Question number " + std::to_string(i) + "?"}});
    context["messages"].push_back({{"role", "assistant"}, {"content", std::string(400, 'a')}});
  }
  context["messages"].push_back({{"role", "user"}, {"content", "Last question."}});
  return context;
}

void render_template(benchmark::State& state, const char* name, int extra_turns) {
  auto tmpl = pensieve::jinja::Template::parse(
      read(std::string(PENSIEVE_FIXTURES) + "/chat/templates/" + name + ".jinja"));
  if (!tmpl) {
    state.SkipWithError(tmpl.error().message.c_str());
    return;
  }
  const auto context = context_for(extra_turns);
  pensieve::jinja::RenderOptions options;
  options.trusted_variables = {"bos_token", "eos_token"};
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto out = pensieve::jinja::render(*tmpl, context, options);
    if (!out) {
      state.SkipWithError(out.error().message.c_str());
      return;
    }
    bytes += out->text.size();
    benchmark::DoNotOptimize(out->text.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_ParseGptOss(benchmark::State& state) {
  const std::string source =
      read(std::string(PENSIEVE_FIXTURES) + "/chat/templates/openai-gpt-oss-120b.jinja");
  for (auto _ : state) {
    auto tmpl = pensieve::jinja::Template::parse(source);
    benchmark::DoNotOptimize(tmpl.ok());
  }
}

}  // namespace

BENCHMARK(BM_ParseGptOss);
BENCHMARK_CAPTURE(render_template, qwen3_tool_roundtrip, "Qwen-Qwen3-0.6B", 0);
BENCHMARK_CAPTURE(render_template, qwen3_200_turns, "Qwen-Qwen3-0.6B", 100);
BENCHMARK_CAPTURE(render_template, gpt_oss_200_turns, "openai-gpt-oss-120b", 100);
BENCHMARK_CAPTURE(render_template, qwen3_coder_200_turns, "Qwen3-Coder", 100);
