#include "tokenizer/tokenizer.hpp"

#include <algorithm>
#include <utility>

#include "core/printable.hpp"
#include "tokenizer/byte_level_bpe.hpp"
#include "tokenizer/codepoint_text.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/sentencepiece_bpe.hpp"
#include "tokenizer/special_tokens.hpp"
#include "tokenizer/token_roles.hpp"
#include "tokenizer/unicode.hpp"

namespace pensieve::tokenizer {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// Working memory of one encode call; sized by the text, reused across its fragments and words.
struct EncodeState {
  std::vector<Fragment> fragments;
  std::string joined;      // segments laid end to end
  std::string normalized;  // NFC copy of a fragment, when the model normalises
  std::string escaped;     // SentencePiece text with spaces as U+2581
  CodepointText codepoints;
  std::vector<Piece> pieces;
  std::vector<Piece> piece_scratch;
  BpeScratch bpe;
  SpmScratch spm;
};

bool decodes_to_text(TokenType type) {
  return type == TokenType::kNormal || type == TokenType::kUserDefined || type == TokenType::kByte ||
         type == TokenType::kUndefined;
}

}  // namespace

struct Tokenizer::Impl {
  Vocabulary vocab;
  const PreTokenizerSpec* pre = nullptr;  // byte-level BPE only
  std::optional<ByteLevelBpe> bpe;
  std::optional<SentencePieceBpe> spm;
  SpecialTokenMatcher specials;
  std::string pieces;                   // the decoded bytes of every token, back to back
  std::vector<std::uint32_t> piece_offsets;
  std::vector<std::int32_t> eog_ids;
  std::vector<bool> is_eog;

  std::string_view piece(std::int32_t id) const {
    return std::string_view(pieces).substr(piece_offsets[id], piece_offsets[id + 1] - piece_offsets[id]);
  }

  void build_pieces() {
    const std::int32_t n = vocab.size();
    piece_offsets.reserve(static_cast<std::size_t>(n) + 1);
    for (std::int32_t id = 0; id < n; ++id) {
      piece_offsets.push_back(static_cast<std::uint32_t>(pieces.size()));
      const TokenType type = vocab.type(id);
      if (!decodes_to_text(type)) continue;
      const std::string_view text = vocab.text(id);
      if (type == TokenType::kUserDefined) {
        pieces.append(text);
      } else if (vocab.kind() == VocabKind::kByteLevelBpe) {
        append_token_bytes(text, pieces);
      } else if (const int byte = type == TokenType::kByte ? parse_byte_token(text) : -1; byte >= 0) {
        pieces.push_back(static_cast<char>(byte));
      } else {
        for (std::size_t pos = 0; pos < text.size();) {
          if (text.compare(pos, kSpaceMark.size(), kSpaceMark) == 0) {
            pieces.push_back(' ');
            pos += kSpaceMark.size();
          } else {
            pieces.push_back(text[pos++]);
          }
        }
      }
    }
    piece_offsets.push_back(static_cast<std::uint32_t>(pieces.size()));
  }

  void build_end_of_generation() {
    is_eog.assign(static_cast<std::size_t>(vocab.size()), false);
    auto mark = [this](std::optional<std::int32_t> id) {
      if (id && !is_eog[*id]) {
        is_eog[*id] = true;
        eog_ids.push_back(*id);
      }
    };
    mark(vocab.eos);
    mark(vocab.eot);
    mark(vocab.eom);
    std::size_t harmony_turn_ends = 0;
    for (std::int32_t id = 0; id < vocab.size(); ++id) {
      const TokenType type = vocab.type(id);
      if ((type == TokenType::kControl || type == TokenType::kUserDefined) && is_turn_end_text(vocab.text(id))) {
        mark(id);
      }
      if (type == TokenType::kControl && is_harmony_turn_end(vocab.text(id))) ++harmony_turn_ends;
    }
    if (harmony_turn_ends == 2) {  // <|return|> and <|call|>: gpt-oss's harmony vocabulary
      std::erase_if(eog_ids, [this](std::int32_t id) {
        if (!is_harmony_message_end(vocab.text(id))) return false;
        is_eog[static_cast<std::size_t>(id)] = false;
        return true;
      });
    }
    std::sort(eog_ids.begin(), eog_ids.end());
  }

  void encode_fragments(std::string_view text, EncodeState& st, std::vector<std::int32_t>& out) const {
    if (spm) {
      encode_spm(text, st, out);
      return;
    }
    for (const Fragment& f : st.fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
        continue;
      }
      std::string_view raw = text.substr(f.begin, f.end - f.begin);
      if (pre->normalize_nfc && normalize_nfc(raw, st.normalized)) raw = st.normalized;
      st.codepoints.assign(raw);
      split_into_pieces(*pre, st.codepoints, st.pieces, st.piece_scratch);
      for (const Piece& p : st.pieces) {
        const std::uint32_t begin = st.codepoints.offset(p.begin);
        bpe->encode_word(raw.substr(begin, st.codepoints.offset(p.end) - begin), out, st.bpe);
      }
    }
  }

  // Text after an added token (or at the very start) gets the SentencePiece space prefix.
  void encode_spm(std::string_view text, EncodeState& st, std::vector<std::int32_t>& out) const {
    bool after_special = true;
    for (const Fragment& f : st.fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
        after_special = true;
        continue;
      }
      st.escaped.clear();
      if (vocab.add_space_prefix && after_special) st.escaped.append(kSpaceMark);
      for (std::uint32_t i = f.begin; i < f.end; ++i) {
        if (text[i] == ' ') {
          st.escaped.append(kSpaceMark);
        } else {
          st.escaped.push_back(text[i]);
        }
      }
      spm->encode(vocab, st.escaped, out, st.spm);
      after_special = false;
    }
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::from_gguf(const gguf::Contents& metadata) {
  auto vocab = Vocabulary::from_gguf(metadata);
  if (!vocab) return vocab.error().with_context("tokenizer");
  auto impl = std::make_unique<Impl>();
  impl->vocab = std::move(*vocab);
  const Vocabulary& v = impl->vocab;
  if (v.kind() == VocabKind::kByteLevelBpe) {
    impl->pre = find_pre_tokenizer(v.pre_tokenizer_name());
    if (impl->pre == nullptr) {
      std::string known;
      for (std::string_view name : known_pre_tokenizer_names()) known += (known.empty() ? "" : ", ") + std::string(name);
      return make_error(ErrorCode::kUnsupported, "tokenizer: pre-tokenizer '" +
                                                     core::printable(v.pre_tokenizer_name()) +
                                                     "' is not supported (supported: " + known + ")");
    }
    auto bpe = ByteLevelBpe::build(v, metadata, impl->pre->ignore_merges);
    if (!bpe) return bpe.error().with_context("tokenizer");
    impl->bpe.emplace(std::move(*bpe));
  } else {
    impl->spm.emplace(v);
  }
  impl->specials = SpecialTokenMatcher(v);
  impl->build_pieces();
  impl->build_end_of_generation();
  return Tokenizer(std::move(impl));
}

Result<Tokenizer> Tokenizer::from_file(const std::string& path) {
  auto file = gguf::File::open(path);
  if (!file) return file.error();
  return from_gguf(file->contents());
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  EncodeState st;
  impl_->specials.partition(text, 0, text.size(),
                            parse_special ? SpecialMatching::kAll : SpecialMatching::kUserDefined, st.fragments);
  std::vector<std::int32_t> out;
  out.reserve(text.size() / 3 + 8);
  impl_->encode_fragments(text, st, out);
  return out;
}

std::vector<std::int32_t> Tokenizer::encode(std::span<const Segment> segments) const {
  EncodeState st;
  std::size_t total = 0;
  for (const Segment& s : segments) total += s.text.size();
  st.joined.reserve(total);
  for (const Segment& s : segments) {
    const std::size_t begin = st.joined.size();
    st.joined.append(s.text);
    const std::size_t first_new = st.fragments.size();
    impl_->specials.partition(st.joined, begin, st.joined.size(),
                              s.allow_special ? SpecialMatching::kAll : SpecialMatching::kNone, st.fragments);
    // Plain text that continues plain text from the previous segment is one run, so segment
    // boundaries never change how text is split.
    if (first_new > 0 && first_new < st.fragments.size()) {
      Fragment& prev = st.fragments[first_new - 1];
      const Fragment& next = st.fragments[first_new];
      if (prev.token < 0 && next.token < 0 && prev.end == next.begin) {
        prev.end = next.end;
        st.fragments.erase(st.fragments.begin() + static_cast<std::ptrdiff_t>(first_new));
      }
    }
  }
  std::vector<std::int32_t> out;
  out.reserve(total / 3 + 8);
  impl_->encode_fragments(st.joined, st, out);
  return out;
}

void Tokenizer::add_bos_eos(std::vector<std::int32_t>& ids) const {
  const Vocabulary& v = impl_->vocab;
  if (v.add_bos && v.bos && (ids.empty() || ids.front() != *v.bos)) ids.insert(ids.begin(), *v.bos);
  if (v.add_eos && v.eos && (ids.empty() || ids.back() != *v.eos)) ids.push_back(*v.eos);
}

void Tokenizer::append_piece(std::int32_t id, const DecodeOptions& options, std::string& out) const {
  const Vocabulary& v = impl_->vocab;
  if (!v.contains(id)) return;
  if (options.render_special && !decodes_to_text(v.type(id))) {
    out.append(v.text(id));
  } else {
    out.append(impl_->piece(id));
  }
}

void Tokenizer::finish_decoded_text(std::string& text, std::size_t from, bool at_output_start,
                                    const DecodeOptions& options) const {
  const Vocabulary& v = impl_->vocab;
  if (v.kind() != VocabKind::kSentencePiece) return;
  std::size_t write = from;
  for (std::size_t read = from; read < text.size();) {
    if (text.compare(read, kSpaceMark.size(), kSpaceMark) == 0) {
      text[write++] = ' ';
      read += kSpaceMark.size();
    } else {
      text[write++] = text[read++];
    }
  }
  text.resize(write);
  if (at_output_start && options.strip_space_prefix && v.add_space_prefix && from < text.size() &&
      text[from] == ' ') {
    text.erase(from, 1);
  }
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids, DecodeOptions options) const {
  std::string out;
  for (std::int32_t id : ids) append_piece(id, options, out);
  finish_decoded_text(out, 0, true, options);
  return out;
}

std::string_view Tokenizer::token_text(std::int32_t id) const {
  return impl_->vocab.contains(id) ? impl_->vocab.text(id) : std::string_view();
}
TokenType Tokenizer::token_type(std::int32_t id) const {
  return impl_->vocab.contains(id) ? impl_->vocab.type(id) : TokenType::kUndefined;
}
std::int32_t Tokenizer::n_vocab() const { return impl_->vocab.size(); }
std::optional<std::int32_t> Tokenizer::find_token(std::string_view text) const {
  const std::int32_t id = impl_->vocab.find(text);
  return id >= 0 ? std::optional<std::int32_t>(id) : std::nullopt;
}
VocabKind Tokenizer::kind() const { return impl_->vocab.kind(); }
std::string_view Tokenizer::pre_tokenizer() const { return impl_->pre ? impl_->pre->name : std::string_view(); }
std::optional<std::int32_t> Tokenizer::bos_id() const { return impl_->vocab.bos; }
std::optional<std::int32_t> Tokenizer::eos_id() const { return impl_->vocab.eos; }
std::optional<std::int32_t> Tokenizer::eot_id() const { return impl_->vocab.eot; }
std::optional<std::int32_t> Tokenizer::unk_id() const { return impl_->vocab.unk; }
std::optional<std::int32_t> Tokenizer::pad_id() const { return impl_->vocab.pad; }
bool Tokenizer::add_bos() const { return impl_->vocab.add_bos; }
bool Tokenizer::add_eos() const { return impl_->vocab.add_eos; }

bool Tokenizer::is_end_of_generation(std::int32_t id) const {
  return impl_->vocab.contains(id) && impl_->is_eog[static_cast<std::size_t>(id)];
}
std::span<const std::int32_t> Tokenizer::end_of_generation_ids() const { return impl_->eog_ids; }

}  // namespace pensieve::tokenizer
