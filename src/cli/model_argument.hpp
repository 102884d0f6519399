// cli/model_argument: the one place a command's model argument becomes a file to load. Today it
// is a path to a GGUF file; model references (REPO[:QUANT], found in a local cache or pulled) plug
// in here, so every command that takes a model accepts what this accepts.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.hpp"

namespace pensieve::cli {

// The GGUF file `argument` names; an error that says what to give instead.
Result<std::filesystem::path> resolve_model_argument(const std::string& argument);

}  // namespace pensieve::cli
