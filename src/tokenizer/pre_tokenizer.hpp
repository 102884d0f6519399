// tokenizer/pre_tokenizer: the table from a GGUF `tokenizer.ggml.pre` name to the sequence of
// split rules (and flags) that model's tokenizer applies before byte-level BPE. This is the one
// place that knows pre-tokenizer names.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tokenizer/codepoint_text.hpp"
#include "tokenizer/pre_tokenizer_rules.hpp"

namespace pensieve::tokenizer {

struct PreTokenizerSpec {
  std::string_view name;             // canonical name, as our table lists it
  std::span<const rules::Rule> rules;  // applied in turn; each refines every piece so far
  bool ignore_merges = false;  // a piece that is itself a token is not split (Llama 3)
  bool normalize_nfc = false;  // the model's tokenizer NFC-normalises text first
};

// nullptr for a name we do not know. An absent or empty name means "default".
const PreTokenizerSpec* find_pre_tokenizer(std::string_view name);

// Every name the table accepts (for error messages and tests).
std::span<const std::string_view> known_pre_tokenizer_names();

// A piece of the text, in code point indices [begin, end).
struct Piece {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

// Splits all of `text` into pieces: each rule keeps its matches and the text between them as
// separate pieces (the "isolated" split of the reference tokenizers).
void split_into_pieces(const PreTokenizerSpec& spec, const CodepointText& text, std::vector<Piece>& pieces,
                       std::vector<Piece>& scratch);

}  // namespace pensieve::tokenizer
