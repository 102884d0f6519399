// cli/test_model: recognises the random-weight models the tests use (the fixtures of
// shared/fixtures/models, the e2e chat models, `pensieve synth` output), so that a user who
// serves one is told why its answers are gibberish and how to get a real model. All of them are
// written by our own tools, which name them "pensieve-…" in general.name.
#pragma once

#include <optional>
#include <string>

#include "gguf/reader.hpp"

namespace pensieve::cli {

bool is_test_model(const gguf::Contents& metadata);

// The notice for a test model (what it is, what to do), or nullopt for any other model.
std::optional<std::string> test_model_notice(const gguf::Contents& metadata);

}  // namespace pensieve::cli
