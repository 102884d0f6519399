#include <iostream>

#include "cli/commands.hpp"

namespace pensieve::cli {

// Placeholder until the module behind it lands; it fails loudly rather than pretend.
void add_serve_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("serve", "(not available yet)");
  cmd->allow_extras();
  cmd->callback([&exit_code] {
    std::cerr << "pensieve serve: not available in this build yet\n";
    exit_code = 2;
  });
}

}  // namespace pensieve::cli
