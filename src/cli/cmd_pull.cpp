// `pensieve pull [REF]`: fetches a model from the Hugging Face hub into the shared cache. Notes and
// progress go to stderr; the local path of each file goes to stdout, so scripts can use
// `pensieve serve --model "$(pensieve pull REF | head -1)"`.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/model_argument.hpp"
#include "hub/pull.hpp"
#include "hub/reference.hpp"

namespace pensieve::cli {
namespace {

struct PullArgs {
  std::string reference;
  int retries = 3;
  std::string progress = "auto";
};

int run_pull(const PullArgs& args) {
  auto ref = hub::parse_reference(args.reference.empty() ? kDefaultModelReference : args.reference);
  if (!ref) {
    std::cerr << "pensieve pull: " << ref.error().message << "\n";
    return 2;
  }
  auto options = hub::PullOptions::from_environment();
  auto style = hub::parse_progress_style(args.progress, STDERR_FILENO);
  if (!style) {
    std::cerr << "pensieve pull: --progress: " << style.error().message << "\n";
    return 2;
  }
  options.progress = *style;
  options.retries = args.retries;
  auto pulled = hub::pull(*ref, options);
  if (!pulled) {
    std::cerr << "pensieve pull: " << pulled.error().message << "\n";
    return 1;
  }
  const std::string commit = pulled->commit.substr(0, 12);
  if (pulled->already_present) {
    if (!pulled->note.empty()) std::cerr << "pensieve pull: " << pulled->note << "\n";
    std::cerr << "pensieve pull: " << ref->to_string() << " is already in the cache (commit " << commit
              << "); nothing to download\n";
  } else {
    std::cerr << "pensieve pull: " << ref->to_string() << " is in the cache (commit " << commit << ")\n";
  }
  for (const auto& file : pulled->files) std::cout << file.string() << "\n";
  return 0;
}

}  // namespace

void add_pull_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "pull", "Download a model from the Hugging Face hub into the shared cache (resumable, verified)");
  auto args = std::make_shared<PullArgs>();
  cmd->add_option(
      "reference", args->reference,
      std::string("ORG/REPO[:QUANT] (e.g. Qwen/Qwen3-8B-GGUF:Q4_K_M) or ORG/REPO/FILE.gguf; without "
                  "one, the default model ") +
          kDefaultModelReference + ". HF_TOKEN, HF_ENDPOINT, HF_HOME and the proxy variables are honoured");
  cmd->add_option("--retries", args->retries,
                  "Further attempts per file when a transfer breaks off (each resumes)")
      ->check(CLI::Range(0, 100))
      ->envname("PENSIEVE_PULL_RETRIES")
      ->capture_default_str();
  cmd->add_option("--progress", args->progress,
                  "auto (a bar on a terminal, else a line every few seconds), bar, lines or none")
      ->envname("PENSIEVE_PROGRESS")
      ->capture_default_str();
  cmd->callback([args, &exit_code] { exit_code = run_pull(*args); });
}

}  // namespace pensieve::cli
