#include <iostream>
#include <map>
#include <string>

#include "cli/commands.hpp"
#include "gguf/reader.hpp"

namespace pensieve::cli {
namespace {

int run_inspect(const std::string& path) {
  auto file = gguf::File::open(path);
  if (!file) {
    std::cerr << "pensieve inspect: " << file.error().message << "\n";
    return 1;
  }
  const auto& c = file->contents();
  auto arch = c.get_string("general.architecture");
  std::cout << "file:          " << path << "\n";
  std::cout << "file size:     " << file->file_size() << " bytes\n";
  std::cout << "gguf version:  " << c.version << "\n";
  std::cout << "architecture:  " << (arch.ok() && *arch ? std::string(**arch) : "(unknown)") << "\n";
  std::cout << "metadata keys: " << c.metadata.size() << "\n";
  std::map<std::string_view, std::size_t> by_type;
  for (const auto& t : c.tensors) ++by_type[tensor::name_of(t.type)];
  std::cout << "tensors:       " << c.tensors.size() << " (";
  const char* sep = "";
  for (const auto& [name, n] : by_type) {
    std::cout << sep << name << ": " << n;
    sep = ", ";
  }
  std::cout << ")\n";
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("inspect", "Print a model's metadata, tensors and memory needs");
  auto path = std::make_shared<std::string>();
  cmd->add_option("model", *path, "GGUF model file")->required();
  cmd->callback([path, &exit_code] { exit_code = run_inspect(*path); });
}

}  // namespace pensieve::cli
