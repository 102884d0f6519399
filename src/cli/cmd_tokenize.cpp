#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "cli/model_argument.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  std::string file;
  bool special = false;
  bool pull = false;
};

int run_tokenize(const TokenizeArgs& args) {
  std::string text = args.text;
  if (!args.file.empty()) {
    std::ifstream in(args.file, std::ios::binary);
    if (!in) {
      std::cerr << "pensieve tokenize: cannot read " << args.file << "\n";
      return 1;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  auto tok = tokenizer::Tokenizer::from_file(args.model);
  if (!tok) {
    std::cerr << "pensieve tokenize: " << args.model << ": " << tok.error().message << "\n";
    return 1;
  }
  const auto ids = tok->encode(text, args.special);
  std::string line;
  line.reserve(ids.size() * 6);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) line.push_back(' ');
    line += std::to_string(ids[i]);
  }
  std::cout << line << "\n";
  return 0;
}

}  // namespace

void add_tokenize_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text, separated by spaces");
  auto args = std::make_shared<TokenizeArgs>();
  cmd->add_option("model", args->model, kModelArgumentHelp)->required();
  add_pull_flag(*cmd, args->pull);
  auto* text = cmd->add_option("--text", args->text, "Text to tokenize");
  auto* file = cmd->add_option("--file", args->file, "File whose bytes to tokenize");
  text->excludes(file);
  file->excludes(text);
  cmd->add_flag("--special", args->special,
                "Parse control tokens such as <|im_start|> (otherwise they are plain text)");
  cmd->callback([args, text, file, &exit_code] {
    if (text->count() == 0 && file->count() == 0) {
      std::cerr << "pensieve tokenize: give --text TEXT or --file PATH\n";
      exit_code = 2;
      return;
    }
    if (!resolve_model_argument("tokenize", args->model, args->pull)) {
      exit_code = 1;
      return;
    }
    exit_code = run_tokenize(*args);
  });
}

}  // namespace pensieve::cli
