// Shared fixture files that are another fixture with one change, so tests derive them with our
// own GGUF writer instead of reading them from ../shared (which must stay small):
//
//   vocab/ggml-vocab-gpt-2-pre-gpt2.gguf    vocab/ggml-vocab-gpt-2.gguf, tokenizer.ggml.pre "gpt-2"
//   vocab/ggml-vocab-gpt-2-pre-llama3.gguf  the same with "llama-bpe"
//   vocab/ggml-vocab-gpt-2-pre-qwen2.gguf   the same with "qwen2"
//   models/llama-f32.gguf                   models/llama-f16.gguf, every F16 tensor widened
//                                           (exactly) to F32, general.file_type 0 (all F32)
//
// Tests name fixtures by their path under the fixtures folder and open fixture_path(name): the
// shared file, or the derived copy in the build folder. Their .inp/.out companions stay shared.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "gguf/value.hpp"

namespace pensieve::testing {

// Whether fixture `relative` ("models/llama-f32.gguf") is derived rather than read from shared.
bool is_derived_fixture(std::string_view relative);

// The file to open for fixture `relative`. A derived one is written on first use (and again when
// its source or this test binary is newer), through a temporary name so that test processes
// running at the same time never see half a file. Throws std::runtime_error when it cannot.
std::string fixture_path(std::string_view relative);

// The shared file a derived fixture is made from ("vocab/ggml-vocab-gpt-2.gguf").
std::string derived_fixture_source(std::string_view relative);

// The derivations, for the tests that check them.
Status write_with_pre_tokenizer(const std::string& source, std::string_view pre, const std::string& out);
// A copy of `source` with the value of its metadata key `key` replaced (the key must be there).
Status write_with_metadata_value(const std::string& source, std::string_view key, const gguf::Value& value,
                                 const std::string& out);
Status write_widened_to_f32(const std::string& source, const std::string& out);

}  // namespace pensieve::testing
