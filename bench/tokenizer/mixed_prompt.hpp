// bench/tokenizer/mixed_prompt: a deterministic stand-in for the prompt a coding agent sends —
// tool definitions as JSON schemas, an English system prompt, and source code — of a given size.
#pragma once

#include <cstddef>
#include <string>

namespace pensieve::bench {

std::string make_mixed_prompt(std::size_t target_bytes);

}  // namespace pensieve::bench
