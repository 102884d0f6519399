// Hostile or broken templates must fail cleanly, never crash or hang: every fixture template is
// mutated many times (bytes dropped, duplicated, swapped) and parsed and rendered under small
// limits. Deterministic seeds keep failures reproducible.
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "test_util.hpp"

namespace pensieve::jinja::testing {
namespace {

TEST(JinjaRobustness, MutatedFixtureTemplatesNeverCrash) {
  const auto dir = std::filesystem::path(PENSIEVE_FIXTURES) / "chat" / "templates";
  std::ifstream conv_in(std::filesystem::path(PENSIEVE_FIXTURES) / "chat" / "conversations.json");
  const auto conversations = nlohmann::ordered_json::parse(conv_in).at("conversations");
  nlohmann::ordered_json context = {
      {"bos_token", "<s>"}, {"eos_token", "</s>"}, {"add_generation_prompt", true}};
  context["messages"] = conversations.at("tool_roundtrip").at("messages");
  context["tools"] = conversations.at("tool_roundtrip").at("tools");

  RenderOptions options;
  options.max_steps = 200'000;
  options.max_output_bytes = 1 << 20;
  std::mt19937 rng(1234);
  std::size_t rendered = 0;
  std::size_t attempts = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string original = ss.str();
    for (int round = 0; round < 300; ++round) {
      std::string source = original;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !source.empty(); ++e) {
        const std::size_t pos = rng() % source.size();
        const std::size_t len = 1 + rng() % 8;
        switch (rng() % 3) {
          case 0:
            source.erase(pos, len);
            break;
          case 1:
            source.insert(pos, source.substr(rng() % source.size(), len));
            break;
          default:
            std::swap(source[pos], source[rng() % source.size()]);
            break;
        }
      }
      ++attempts;
      auto tmpl = Template::parse(source);
      if (!tmpl) continue;
      auto out = render(*tmpl, context, options);
      if (out) ++rendered;
    }
  }
  EXPECT_GT(attempts, 0u);
  EXPECT_GT(rendered, 0u);  // some mutants still render; none may crash
}

}  // namespace
}  // namespace pensieve::jinja::testing
