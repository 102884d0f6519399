#include "cli/test_model.hpp"

#include "cli/model_argument.hpp"

namespace pensieve::cli {

bool is_test_model(const gguf::Contents& metadata) {
  const auto name = metadata.get_string("general.name");
  return name.ok() && *name && (*name)->rfind("pensieve-", 0) == 0;
}

std::optional<std::string> test_model_notice(const gguf::Contents& metadata) {
  if (!is_test_model(metadata)) return std::nullopt;
  const auto name = metadata.get_string("general.name");
  return std::string(**name) +
         " is a random-weight test model: it runs the whole engine, but its answers are gibberish. "
         "For a real model: pensieve pull (fetches " +
         kDefaultModelReference + "), or --model with any instruct GGUF file";
}

}  // namespace pensieve::cli
