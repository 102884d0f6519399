#include "cli/model_argument.hpp"

#include <iostream>

#include "hub/model_ref.hpp"

namespace pensieve::cli {

void add_pull_flag(CLI::App& command, bool& pull) {
  command
      .add_flag("--pull", pull,
                "Fetch a model reference from the Hugging Face hub when it is not on this machine")
      ->envname("PENSIEVE_PULL");
}

bool resolve_model_argument(std::string_view command, std::string& argument, bool pull) {
  auto resolved = hub::resolve_model(argument, pull);
  if (!resolved) {
    std::cerr << "pensieve " << command << ": " << resolved.error().message << "\n";
    return false;
  }
  if (!resolved->note.empty()) std::cerr << "pensieve " << command << ": " << resolved->note << "\n";
  argument = resolved->path;
  return true;
}

std::optional<std::filesystem::path> model_file(std::string_view command, const std::string& argument,
                                                bool pull) {
  if (argument.empty()) {
    std::cerr << "pensieve " << command
              << ": no model given: name a GGUF file or a reference (or set PENSIEVE_MODEL)\n";
    return std::nullopt;
  }
  std::string path = argument;
  if (!resolve_model_argument(command, path, pull)) return std::nullopt;
  std::error_code ec;
  return std::filesystem::absolute(path, ec);
}

}  // namespace pensieve::cli
