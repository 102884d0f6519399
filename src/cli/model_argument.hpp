// cli/model_argument: the model argument every command shares: a GGUF path, or a Hugging Face
// reference (ORG/REPO[:QUANT|/FILE]) looked up on this machine, fetched with --pull.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace pensieve::cli {

// The model a first run gets (`pensieve pull` with no reference, `pensieve claude` with no model,
// scripts/serve.sh): a small instruct model that calls tools in the Hermes syntax constrained
// decoding holds, with a 40k context, and 2 GB of Q8_0 a two-core laptop decodes at ~13 tokens/s.
inline constexpr const char* kDefaultModelReference = "Qwen/Qwen3-1.7B-GGUF:Q8_0";

// The help text of a model argument.
inline constexpr const char* kModelArgumentHelp =
    "GGUF model file, or a Hugging Face reference ORG/REPO[:QUANT|/FILE] found in the local cache or LM "
    "Studio's models folder";

// Adds --pull (environment PENSIEVE_PULL): fetch a reference that is not on this machine.
void add_pull_flag(CLI::App& command, bool& pull);

// Replaces `argument` with the file to open. False after telling the user why not, on stderr
// as "pensieve COMMAND: …".
bool resolve_model_argument(std::string_view command, std::string& argument, bool pull);

// The same for commands that go on with a file path (claude, chat): the absolute path of the
// file `argument` names, or nullopt after telling the user why not.
std::optional<std::filesystem::path> model_file(std::string_view command, const std::string& argument,
                                                bool pull);

}  // namespace pensieve::cli
