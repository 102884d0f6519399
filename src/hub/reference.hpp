// hub/reference: the text a user types to name a model on the Hugging Face hub.
//
//   ORG/REPO              the repository's default pick (its only model, else Q4_K_M)
//   ORG/REPO:QUANT        the file whose name carries that quantization tag (Q4_K_M, q8_0, …)
//   ORG/REPO/PATH.gguf    one file by its path in the repository
//
// "hf.co/" and "huggingface.co/" in front are accepted, as Ollama and the hub's own links write
// them. Parsing is pure: whether the model is in the cache or on the hub is decided elsewhere.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace pensieve::hub {

struct Reference {
  std::string repo;   // "ORG/REPO"
  std::string quant;  // "Q4_K_M" as typed, or empty
  std::string file;   // path inside the repository, or empty

  // The canonical text: "ORG/REPO", "ORG/REPO:QUANT" or "ORG/REPO/FILE".
  std::string to_string() const;
};

// kInvalidArgument with what is wrong when `text` is not a reference.
Result<Reference> parse_reference(std::string_view text);

// Whether a model argument is meant as a file path rather than a reference: it starts with
// '/', '.' or '~', or it names a .gguf file with fewer than two slashes (a reference to one file
// needs ORG/REPO/FILE). Existing files are paths whatever they look like; this decides the rest.
bool looks_like_path(std::string_view text);

}  // namespace pensieve::hub
