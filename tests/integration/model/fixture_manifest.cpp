#include "fixture_manifest.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <utility>

#include "model/architecture.hpp"

#include "support/derived_fixtures.hpp"

namespace pensieve::model::testing {
namespace {

const std::string kModels = std::string(PENSIEVE_FIXTURES) + "/models/";

std::vector<FixtureFile> load_manifest() {
  std::ifstream in(kModels + "manifest.json");
  if (!in) {
    std::fprintf(stderr, "cannot open %smanifest.json\n", kModels.c_str());
    std::abort();
  }
  const nlohmann::json manifest = nlohmann::json::parse(in);
  // Pending entries (architectures the engine did not load when the fixtures were made) take part
  // once the engine knows their architecture, as if already moved into "models".
  std::vector<std::pair<std::string, nlohmann::json>> models;
  for (const auto& [model, m] : manifest.at("models").items()) models.emplace_back(model, m);
  const nlohmann::json pending = manifest.value("pending_models", nlohmann::json::object());
  for (const auto& [model, m] : pending.items()) {
    if (find_architecture(model)) models.emplace_back(model, m);
  }
  std::vector<FixtureFile> files;
  for (const auto& [model, m] : models) {
    for (const auto& [file, f] : m.at("files").items()) {
      FixtureFile ff;
      ff.model = model;
      ff.file = file;
      ff.path = ::pensieve::testing::fixture_path("models/" + file);  // derived where the file is
      ff.vocab = m.at("vocab").get<std::uint32_t>();
      ff.tokens = m.at("tokens").get<std::vector<std::int32_t>>();
      if (f.contains("exact_logits")) {
        ff.expected_logits_path = kModels + f.at("exact_logits").get<std::string>();
        ff.peer_rms = f.at("peer_rms").get<double>();
      } else {
        ff.expected_logits_path = kModels + m.at("reference_logits").get<std::string>();
      }
      const auto& greedy = m.at("greedy");
      ff.greedy_prompt = greedy.at("prompt").get<std::vector<std::int32_t>>();
      ff.greedy_continuation = greedy.at("continuation").get<std::vector<std::int32_t>>();
      ff.greedy_margins = greedy.at("step_margins").get<std::vector<double>>();
      files.push_back(std::move(ff));
    }
  }
  return files;
}

}  // namespace

const std::vector<FixtureFile>& fixture_files() {
  static const std::vector<FixtureFile> files = load_manifest();
  return files;
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

std::string test_name_of(const FixtureFile& f) {
  std::string name = f.file.substr(0, f.file.rfind(".gguf"));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

}  // namespace pensieve::model::testing
