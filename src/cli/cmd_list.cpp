// `pensieve list`: the models on this machine, as a table or JSON: what to type to use each one,
// and what its GGUF header says.
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "hub/cache.hpp"
#include "hub/local_lookup.hpp"
#include "hub/local_models.hpp"
#include "memory/byte_size.hpp"

namespace pensieve::cli {
namespace {

struct ListArgs {
  bool json = false;
};

void print_json(const std::vector<hub::LocalModel>& models) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : models) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : m.files) files.push_back(f.string());
    nlohmann::json entry = {{"reference", m.reference},
                            {"source", m.source},
                            {"path", m.files.front().string()},
                            {"files", files},
                            {"size_bytes", m.size},
                            {"quantization", m.quantization},
                            {"architecture", m.architecture},
                            {"context_length", m.context_length}};
    if (!m.problem.empty()) entry["problem"] = m.problem;
    out.push_back(std::move(entry));
  }
  std::cout << out.dump(2) << "\n";
}

void print_table(const std::vector<hub::LocalModel>& models) {
  struct Row {
    std::string cells[6];
  };
  std::vector<Row> rows{{{"MODEL", "QUANT", "SIZE", "CONTEXT", "ARCH", "SOURCE"}}};
  for (const auto& m : models) {
    std::string source = m.source;
    if (!m.problem.empty()) source += " (" + m.problem + ")";
    rows.push_back({{m.reference, m.quantization.empty() ? "-" : m.quantization, memory::format_bytes(m.size),
                     m.context_length ? std::to_string(m.context_length) : "-",
                     m.architecture.empty() ? "-" : m.architecture, source}});
  }
  std::size_t widths[6] = {};
  for (const Row& row : rows) {
    for (int i = 0; i < 6; ++i) widths[i] = std::max(widths[i], row.cells[i].size());
  }
  for (const Row& row : rows) {
    std::ostringstream line;
    for (int i = 0; i < 6; ++i) {
      // Numbers right-aligned, text left; the last column unpadded.
      const bool numeric = i == 2 || i == 3;
      if (i == 5) {
        line << row.cells[i];
      } else {
        line << (numeric ? std::right : std::left) << std::setw(static_cast<int>(widths[i])) << row.cells[i]
             << "  ";
      }
    }
    std::cout << line.str() << "\n";
  }
}

int run_list(const ListArgs& args) {
  const auto root = hub::default_cache_root();
  const auto lmstudio = hub::lmstudio_model_dirs();
  const auto models = hub::list_local_models(root, lmstudio);
  if (args.json) {
    print_json(models);
    return 0;
  }
  if (models.empty()) {
    std::cerr << "no local models in the Hugging Face cache (" << (root.empty() ? "unset" : root.string())
              << ")";
    for (const auto& dir : lmstudio) std::cerr << " or " << dir.string();
    std::cerr << "; fetch one with: pensieve pull ORG/REPO:QUANT\n";
    return 0;
  }
  print_table(models);
  return 0;
}

}  // namespace

void add_list_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "list",
      "List the models on this machine (Hugging Face cache, LM Studio's models folder) and how to name them");
  auto args = std::make_shared<ListArgs>();
  cmd->add_flag("--json", args->json, "Print a JSON array instead of the table")
      ->envname("PENSIEVE_LIST_JSON");
  cmd->callback([args, &exit_code] { exit_code = run_list(*args); });
}

}  // namespace pensieve::cli
