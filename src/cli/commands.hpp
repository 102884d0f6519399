// cli/commands: each subcommand of the `pensieve` binary registers itself on the app here.
// A command parses its flags and calls into the modules; it holds no business logic.
#pragma once

#include <CLI/CLI.hpp>

namespace pensieve::cli {

// Each adds its subcommand; the callback sets `exit_code` when the command runs.
void add_inspect_command(CLI::App& app, int& exit_code);
void add_logits_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);
void add_tokenize_command(CLI::App& app, int& exit_code);
void add_render_command(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);
void add_synth_command(CLI::App& app, int& exit_code);
void add_pull_command(CLI::App& app, int& exit_code);
void add_list_command(CLI::App& app, int& exit_code);
void add_claude_command(CLI::App& app, int& exit_code);
void add_chat_command(CLI::App& app, int& exit_code);

}  // namespace pensieve::cli
