// tokenizer: turns text into the token ids a model was trained on and back, for the two GGUF
// tokenizer kinds — SentencePiece-style BPE ("llama") and byte-level BPE ("gpt2") with its
// pre-tokenizers — plus added-token parsing, the end-of-generation set and UTF-8-safe streaming.
//
// BOS/EOS policy: encode() never adds BOS or EOS. Chat templates usually write the BOS text
// themselves; callers that want the model's default affixes call add_bos_eos() on the result.
//
// Added tokens: with parse_special=false, text is encoded the way the model's reference
// tokenizer encodes plain text (user-defined tokens such as DeepSeek's <|User|> still match;
// control tokens never do). A Segment with allow_special=false is stricter: no added token of
// any kind forms from it, so text from a user or a tool stays ordinary text.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "gguf/reader.hpp"
#include "tokenizer/vocabulary.hpp"

namespace pensieve::tokenizer {

struct DecodeOptions {
  // Control and unknown tokens decode to their text instead of nothing.
  bool render_special = false;
  // Drop the space the SentencePiece encoder put before the text (only when the vocabulary
  // adds one): with it, decode(encode(s)) == s for text without U+2581.
  bool strip_space_prefix = false;
};

class Tokenizer {
 public:
  // Copies what it needs from the metadata, so the Tokenizer may outlive the file.
  static Result<Tokenizer> from_gguf(const gguf::Contents& metadata);
  static Result<Tokenizer> from_file(const std::string& path);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // parse_special: control/user-defined token texts like <|im_start|> become their single id.
  std::vector<std::int32_t> encode(std::string_view text, bool parse_special) const;

  // A prompt made of pieces: special tokens are parsed only in segments with allow_special=true,
  // so text that came from a user or a tool can never become a control token. Adjacent text is
  // encoded as one run, exactly as if the prompt had been encoded whole.
  struct Segment {
    std::string_view text;
    bool allow_special = false;
  };
  std::vector<std::int32_t> encode(std::span<const Segment> segments) const;

  // Prepends BOS / appends EOS when the model asks for them and they are not there already.
  void add_bos_eos(std::vector<std::int32_t>& ids) const;

  // The bytes of the tokens, concatenated (not necessarily valid UTF-8 for arbitrary ids).
  // Ids outside the vocabulary are skipped.
  std::string decode(std::span<const std::int32_t> ids, DecodeOptions options = {}) const;
  // Appends the raw bytes of one token (ids outside the vocabulary add nothing).
  void append_piece(std::int32_t id, const DecodeOptions& options, std::string& out) const;
  // Turns complete decoded text that starts at byte `from` of `text` into its final form: for
  // SentencePiece, U+2581 (which the encoder writes for every space, and which byte-fallback
  // tokens may spell out) becomes a space, and with strip_space_prefix the very first space of
  // the output (`at_output_start`) is dropped.
  void finish_decoded_text(std::string& text, std::size_t from, bool at_output_start,
                           const DecodeOptions& options) const;

  std::string_view token_text(std::int32_t id) const;
  TokenType token_type(std::int32_t id) const;
  std::int32_t n_vocab() const;
  // The id whose text is exactly `text`, if any.
  std::optional<std::int32_t> find_token(std::string_view text) const;

  VocabKind kind() const;
  // Canonical pre-tokenizer name ("" for SentencePiece vocabularies).
  std::string_view pre_tokenizer() const;

  std::optional<std::int32_t> bos_id() const;
  std::optional<std::int32_t> eos_id() const;
  std::optional<std::int32_t> eot_id() const;
  std::optional<std::int32_t> unk_id() const;
  std::optional<std::int32_t> pad_id() const;
  bool add_bos() const;
  bool add_eos() const;

  // eos, eot, eom and the control tokens that end a turn for the model's family.
  bool is_end_of_generation(std::int32_t id) const;
  std::span<const std::int32_t> end_of_generation_ids() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Feeds ids one at a time and returns only complete UTF-8: bytes of a character split across
// tokens are held back until it is complete, and invalid bytes become U+FFFD. For any ids whose
// decode is valid UTF-8, the concatenation of every feed() and flush() equals decode().
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, DecodeOptions options = {});

  // The text completed by this token; the view is valid until the next call.
  std::string_view feed(std::int32_t id);
  // Whatever is still held back (an unfinished character becomes U+FFFD).
  std::string_view flush();
  void reset();
  // Bytes currently held back.
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  void finish();

  const Tokenizer* tokenizer_;
  DecodeOptions options_;
  bool at_start_ = true;
  std::string pending_;
  std::string ready_;
};

}  // namespace pensieve::tokenizer
