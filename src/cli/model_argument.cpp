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

}  // namespace pensieve::cli
