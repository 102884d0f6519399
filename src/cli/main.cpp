#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/environment.hpp"

int main(int argc, char** argv) {
  CLI::App app{"pensieve: a local LLM server with an Anthropic Messages API"};
  app.require_subcommand(1);
  int exit_code = 0;
  pensieve::cli::add_inspect_command(app, exit_code);
  pensieve::cli::add_logits_command(app, exit_code);
  pensieve::cli::add_bench_command(app, exit_code);
  pensieve::cli::add_tokenize_command(app, exit_code);
  pensieve::cli::add_render_command(app, exit_code);
  pensieve::cli::add_serve_command(app, exit_code);
  pensieve::cli::add_synth_command(app, exit_code);
  pensieve::cli::add_pull_command(app, exit_code);
  pensieve::cli::add_list_command(app, exit_code);
  pensieve::cli::add_claude_command(app, exit_code);
  pensieve::cli::add_chat_command(app, exit_code);
  pensieve::cli::bind_environment_variables(app);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
