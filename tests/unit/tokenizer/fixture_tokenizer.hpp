// The tokenizer of a file under ../shared/fixtures, for tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "support/derived_fixtures.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::tokenizer::testing {

// `relative` is a path under the fixtures folder, such as "models/qwen3-f32.gguf" (derived at
// test time where it is one of support/derived_fixtures.hpp's).
inline Tokenizer load_fixture(const std::string& relative) {
  auto tok = Tokenizer::from_file(::pensieve::testing::fixture_path(relative));
  EXPECT_TRUE(tok.ok()) << relative << ": " << (tok.ok() ? "" : tok.error().message);
  return std::move(*tok);
}

}  // namespace pensieve::tokenizer::testing
