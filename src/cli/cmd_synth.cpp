#include <cstdint>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "memory/byte_size.hpp"
#include "synth/synthesize.hpp"

namespace pensieve::cli {
namespace {

struct SynthArgs {
  std::string shape;
  std::string type;
  std::string out;
  std::uint64_t seed = 1;
  std::string vocab;
  std::uint32_t layers = 0;  // 0: the shape's own
  unsigned threads = 0;
};

void print_report(const SynthArgs& args, const synth::SynthReport& r) {
  std::ostringstream types;
  for (const auto& [type, count] : r.tensors_by_type) {
    types << (types.tellp() > 0 ? ", " : "") << type << ": " << count << " ("
          << memory::format_bytes(r.bytes_by_type.at(type)) << ")";
  }
  std::cout << "wrote " << args.out << "\n"
            << "  shape        " << args.shape << " (" << r.architecture << ", " << r.n_layer
            << " layers, vocab " << r.n_vocab << "), type " << args.type << ", seed " << args.seed << "\n"
            << "  tensors      " << r.tensors << ": " << types.str() << "\n"
            << "  parameters   " << std::fixed << std::setprecision(3)
            << static_cast<double>(r.parameters) / 1e9 << " B\n"
            << "  size         " << memory::format_bytes(r.file_bytes) << " (" << r.file_bytes << " bytes)\n"
            << "  time         " << std::setprecision(1) << r.seconds << " s\n";
}

int run_synth(const SynthArgs& args) {
  auto shape = synth::find_shape(args.shape);
  auto scheme = synth::find_scheme(args.type);
  if (!shape || !scheme) {
    std::cerr << "pensieve synth: " << (!shape ? shape.error() : scheme.error()).message << "\n";
    return 2;
  }
  synth::SynthOptions options;
  options.shape = *shape;
  if (args.layers > 0) options.shape.n_layer = args.layers;
  options.scheme = *scheme;
  options.seed = args.seed;
  options.vocab_path = args.vocab;
  options.threads = args.threads;
  auto report = synth::synthesize(options, args.out);
  if (!report) {
    std::cerr << "pensieve synth: " << report.error().message << "\n";
    return 1;
  }
  print_report(args, *report);
  return 0;
}

}  // namespace

void add_synth_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "synth", "Write a random-weight GGUF model with the shape of a real one (for benchmarks)");
  auto args = std::make_shared<SynthArgs>();
  cmd->add_option("--shape", args->shape, "Model shape: " + synth::shape_names())->required();
  cmd->add_option(
         "--type", args->type,
         "Weight type: " + synth::scheme_names() +
             ". Plain types put every matrix in that type; Q4_K_M/Q5_K_M mix in Q6_K as llama.cpp does")
      ->required();
  cmd->add_option("--out", args->out, "Output GGUF file")->required();
  cmd->add_option("--seed", args->seed, "Seed of the random weights (same seed, same bytes)")
      ->capture_default_str();
  cmd->add_option(
      "--vocab", args->vocab,
      "GGUF whose tokenizer.* keys to copy; its token count becomes the model's vocabulary size "
      "(otherwise a built-in byte-level vocabulary with a ChatML template, padded to the shape's)");
  cmd->add_option("--layers", args->layers, "Number of layers instead of the shape's (quick benchmarks)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", args->threads, "Threads generating weights (default: all hardware threads)")
      ->check(CLI::PositiveNumber);
  cmd->callback([args, &exit_code] { exit_code = run_synth(*args); });
}

}  // namespace pensieve::cli
