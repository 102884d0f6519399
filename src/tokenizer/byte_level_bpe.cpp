#include "tokenizer/byte_level_bpe.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "tokenizer/unicode.hpp"

namespace pensieve::tokenizer {
namespace {

constexpr std::string_view kMergesKey = "tokenizer.ggml.merges";
constexpr std::int32_t kNoRank = std::numeric_limits<std::int32_t>::max();
constexpr std::int32_t kDead = -2;
// Words up to this many bytes are merged by rescanning a small array; longer ones (long CJK
// runs, base64, rows of '=') use a heap so the work stays O(n log n).
constexpr std::size_t kShortWord = 32;
// Longer words are rare and unlikely to repeat; they are not worth the cache's memory.
constexpr std::size_t kMaxCachedWord = 64;

// GPT-2's table: printable Latin-1 bytes stand for themselves, the other 68 bytes are given
// the code points 256, 257, ... in byte order.
constexpr bool is_self_printing(unsigned b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteTables {
  std::array<std::uint32_t, 256> to_cp{};
  std::array<std::int16_t, 256 + 68> from_cp{};
};

constexpr ByteTables kBytes = [] {
  ByteTables t{};
  for (auto& v : t.from_cp) v = -1;
  std::uint32_t next = 256;
  for (unsigned b = 0; b < 256; ++b) {
    t.to_cp[b] = is_self_printing(b) ? b : next++;
    t.from_cp[t.to_cp[b]] = static_cast<std::int16_t>(b);
  }
  return t;
}();

// Appends the raw bytes of a token text; false when some character is not a stand-in.
bool token_bytes_exact(std::string_view text, std::string& out) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const Utf8Char ch = decode_utf8(p, end);
    const int b = ch.valid ? codepoint_to_byte(ch.cp) : -1;
    if (b < 0) return false;
    out.push_back(static_cast<char>(b));
    p += ch.length;
  }
  return true;
}

bool candidate_after(const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) {
  return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
}

}  // namespace

std::uint32_t byte_to_codepoint(std::uint8_t byte) { return kBytes.to_cp[byte]; }

int codepoint_to_byte(std::uint32_t cp) { return cp < kBytes.from_cp.size() ? kBytes.from_cp[cp] : -1; }

void append_token_bytes(std::string_view token_text, std::string& out) {
  const char* p = token_text.data();
  const char* end = p + token_text.size();
  while (p < end) {
    const Utf8Char ch = decode_utf8(p, end);
    const int b = ch.valid ? codepoint_to_byte(ch.cp) : -1;
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.append(p, ch.length);
    }
    p += ch.length;
  }
}

Result<ByteLevelBpe> ByteLevelBpe::build(const Vocabulary& vocab, const gguf::Contents& metadata,
                                         bool ignore_merges) {
  ByteLevelBpe bpe;
  bpe.n_vocab_ = vocab.size();
  bpe.unk_ = vocab.unk;
  bpe.ignore_merges_ = ignore_merges;

  std::string utf8;
  for (unsigned b = 0; b < 256; ++b) {
    utf8.clear();
    append_utf8(utf8, byte_to_codepoint(static_cast<std::uint8_t>(b)));
    bpe.byte_token_[b] = vocab.find(utf8);
  }

  auto merges = metadata.get_array(kMergesKey);
  if (!merges) return merges.error();
  if (!*merges) {
    return make_error(ErrorCode::kNotFound, "a gpt2 tokenizer needs merges, and the file has none (" +
                                                std::string(kMergesKey) + ")");
  }
  const auto& items = (*merges)->items;
  bpe.merges_.reserve(items.size());

  // A merge whose result is not itself a token still happens; such symbols get ids past the
  // vocabulary and are spelled out as byte tokens if they survive to the end.
  std::unordered_map<std::string, std::int32_t> extra;
  auto id_of = [&](const std::string& text) -> std::int32_t {
    const std::int32_t id = vocab.find(text);
    if (id >= 0) return id;
    auto it = extra.find(text);
    return it == extra.end() ? -1 : it->second;
  };
  std::string left, right, joined;
  for (std::size_t rank = 0; rank < items.size(); ++rank) {
    auto merge = items[rank].as_string();
    if (!merge) return make_error(ErrorCode::kInvalidFormat, std::string(kMergesKey) + ": holds a non-string");
    // The separator is the first space after the first character (a part may be " " itself).
    const std::size_t space = merge->size() > 1 ? merge->find(' ', 1) : std::string_view::npos;
    if (space == std::string_view::npos) continue;
    left.assign(merge->substr(0, space));
    right.assign(merge->substr(space + 1));
    const std::int32_t left_id = id_of(left), right_id = id_of(right);
    if (left_id < 0 || right_id < 0) continue;
    joined = left + right;
    std::int32_t result = id_of(joined);
    if (result < 0) {
      result = bpe.n_vocab_ + static_cast<std::int32_t>(extra.size());
      extra.emplace(joined, result);
    }
    bpe.merges_.insert(left_id, right_id, {static_cast<std::int32_t>(rank), result});
  }

  if (ignore_merges) {
    std::string bytes;
    bpe.raw_offsets_.assign(static_cast<std::size_t>(bpe.n_vocab_) + 1, 0);
    for (std::int32_t id = 0; id < bpe.n_vocab_; ++id) {
      bpe.raw_offsets_[id] = static_cast<std::uint32_t>(bpe.raw_texts_.size());
      const TokenType type = vocab.type(id);
      if (type == TokenType::kControl || type == TokenType::kUnknown || type == TokenType::kUnused) continue;
      bytes.clear();
      if (token_bytes_exact(vocab.text(id), bytes)) bpe.raw_texts_ += bytes;
    }
    bpe.raw_offsets_[bpe.n_vocab_] = static_cast<std::uint32_t>(bpe.raw_texts_.size());
    const auto key_of = [&bpe](std::int32_t id) {
      return std::string_view(bpe.raw_texts_)
          .substr(bpe.raw_offsets_[id], bpe.raw_offsets_[id + 1] - bpe.raw_offsets_[id]);
    };
    bpe.raw_index_.reserve(static_cast<std::size_t>(bpe.n_vocab_), key_of);
    for (std::int32_t id = 0; id < bpe.n_vocab_; ++id) {
      if (!key_of(id).empty()) bpe.raw_index_.assign(key_of(id), id, key_of);
    }
  }
  return bpe;
}

void ByteLevelBpe::encode_word(std::string_view word, std::vector<std::int32_t>& out, BpeScratch& s) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const std::int32_t id = raw_index_.find(word, [this](std::int32_t i) {
      return std::string_view(raw_texts_).substr(raw_offsets_[i], raw_offsets_[i + 1] - raw_offsets_[i]);
    });
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const std::size_t n = word.size();
  const bool cacheable = n >= 2 && n <= kMaxCachedWord;
  const std::uint64_t hash = cacheable ? hash_bytes(word) : 0;
  if (cacheable && s.cache.find(word, hash, out)) return;
  const std::size_t first_out = out.size();
  s.ids.resize(n);
  s.starts.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    s.ids[i] = byte_token_[static_cast<unsigned char>(word[i])];
    s.starts[i] = static_cast<std::uint32_t>(i);
  }
  if (n > 1) {
    if (n <= kShortWord) {
      merge_short(word, s);
    } else {
      merge_long(word, s);
    }
  }
  const std::size_t m = s.ids.size();
  for (std::size_t k = 0; k < m; ++k) {
    emit(word, s.starts[k], k + 1 < m ? s.starts[k + 1] : n, s.ids[k], out);
  }
  if (cacheable) s.cache.insert(word, hash, std::span<const std::int32_t>(out).subspan(first_out));
}

void ByteLevelBpe::emit(std::string_view word, std::size_t begin, std::size_t end, std::int32_t id,
                        std::vector<std::int32_t>& out) const {
  if (id >= 0 && id < n_vocab_) {
    out.push_back(id);
    return;
  }
  for (std::size_t i = begin; i < end; ++i) {
    const std::int32_t byte_id = byte_token_[static_cast<unsigned char>(word[i])];
    if (byte_id >= 0) {
      out.push_back(byte_id);
    } else if (unk_) {
      out.push_back(*unk_);
    }
  }
}

// Repeatedly merges the lowest-ranked adjacent pair (the leftmost on ties), as BPE defines.
void ByteLevelBpe::merge_short(std::string_view, BpeScratch& s) const {
  std::size_t m = s.ids.size();
  s.ranks.resize(m);
  s.results.resize(m);
  auto look_up = [&](std::size_t i) {
    s.ranks[i] = kNoRank;
    if (s.ids[i] < 0 || s.ids[i + 1] < 0) return;
    const MergeIndex::Merge merge = merges_.find(s.ids[i], s.ids[i + 1]);
    if (merge.rank >= 0) {
      s.ranks[i] = merge.rank;
      s.results[i] = merge.result;
    }
  };
  for (std::size_t i = 0; i + 1 < m; ++i) look_up(i);
  while (m > 1) {
    std::int32_t best = kNoRank;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < m; ++i) {
      if (s.ranks[i] < best) {
        best = s.ranks[i];
        at = i;
      }
    }
    if (best == kNoRank) break;
    s.ids[at] = s.results[at];
    for (std::size_t i = at + 1; i + 1 < m; ++i) {
      s.ids[i] = s.ids[i + 1];
      s.starts[i] = s.starts[i + 1];
      s.ranks[i] = s.ranks[i + 1];
      s.results[i] = s.results[i + 1];
    }
    --m;
    if (at > 0) look_up(at - 1);
    if (at + 1 < m) look_up(at);
  }
  s.ids.resize(m);
  s.starts.resize(m);
}

void ByteLevelBpe::merge_long(std::string_view, BpeScratch& s) const {
  const std::size_t n = s.ids.size();
  s.next.resize(n);
  s.prev.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    s.next[i] = i + 1 < n ? static_cast<std::int32_t>(i + 1) : -1;
    s.prev[i] = static_cast<std::int32_t>(i) - 1;
  }
  s.heap.clear();
  auto push = [&](std::int32_t left) {
    if (left < 0) return;
    const std::int32_t right = s.next[left];
    if (right < 0 || s.ids[left] < 0 || s.ids[right] < 0) return;
    const MergeIndex::Merge merge = merges_.find(s.ids[left], s.ids[right]);
    if (merge.rank < 0) return;
    s.heap.push_back({merge.rank, static_cast<std::uint32_t>(left), s.ids[left], s.ids[right], merge.result});
    std::push_heap(s.heap.begin(), s.heap.end(), candidate_after);
  };
  for (std::size_t i = 0; i + 1 < n; ++i) push(static_cast<std::int32_t>(i));
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), candidate_after);
    const BpeScratch::Candidate c = s.heap.back();
    s.heap.pop_back();
    const auto left = static_cast<std::int32_t>(c.left);
    const std::int32_t right = s.next[left];
    // Stale candidates (a side was merged away or changed since) are skipped.
    if (s.ids[left] != c.left_id || right < 0 || s.ids[right] != c.right_id) continue;
    s.ids[left] = c.result;
    s.ids[right] = kDead;
    s.next[left] = s.next[right];
    if (s.next[right] >= 0) s.prev[s.next[right]] = left;
    push(s.prev[left]);
    push(left);
  }
  std::size_t m = 0;
  for (std::int32_t i = 0; i >= 0; i = s.next[i]) {
    s.ids[m] = s.ids[i];
    s.starts[m] = s.starts[i];
    ++m;
  }
  s.ids.resize(m);
  s.starts.resize(m);
}

}  // namespace pensieve::tokenizer
