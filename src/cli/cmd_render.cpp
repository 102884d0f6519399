#include <iostream>

#include "cli/commands.hpp"

namespace pensieve::cli {

// Placeholder until the module behind it lands; it fails loudly rather than pretend.
void add_render_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("render", "(not available yet)");
  cmd->allow_extras();
  cmd->callback([&exit_code] {
    std::cerr << "pensieve render: not available in this build yet\n";
    exit_code = 2;
  });
}

}  // namespace pensieve::cli
