#include "tokenizer/sentencepiece_bpe.hpp"

#include <algorithm>
#include <cstdio>

#include "tokenizer/hash_index.hpp"
#include "tokenizer/unicode.hpp"

namespace pensieve::tokenizer {
namespace {

bool bigram_after(const SpmScratch::Bigram& a, const SpmScratch::Bigram& b) {
  return a.score < b.score || (a.score == b.score && a.left > b.left);
}

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581

// Where the word starting at `from` ends: at the next U+2581 that follows another character.
std::size_t word_end(std::string_view text, std::size_t from) {
  std::size_t pos = from;
  while (pos < text.size() && text.compare(pos, kSpaceMark.size(), kSpaceMark) == 0) pos += kSpaceMark.size();
  const std::size_t next = text.find(kSpaceMark, pos);
  return next == std::string_view::npos ? text.size() : next;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  const int hi = hex_value(text[3]), lo = hex_value(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

SentencePieceBpe::SentencePieceBpe(const Vocabulary& vocab) {
  char name[8];
  for (unsigned b = 0; b < 256; ++b) {
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    std::int32_t id = vocab.find(name);
    if (id < 0) {
      const char c = static_cast<char>(b);
      id = vocab.find(std::string_view(&c, 1));
    }
    byte_token_[b] = id;
  }
  words_are_independent_ = true;
  for (std::int32_t id = 0; id < vocab.size() && words_are_independent_; ++id) {
    const std::string_view text = vocab.text(id);
    for (std::size_t at = text.find(kSpaceMark, 1); at != std::string_view::npos; at = text.find(kSpaceMark, at + 1)) {
      if (at < kSpaceMark.size() || text.compare(at - kSpaceMark.size(), kSpaceMark.size(), kSpaceMark) != 0) {
        words_are_independent_ = false;
        break;
      }
    }
  }
}

void SentencePieceBpe::encode(const Vocabulary& vocab, std::string_view text, std::vector<std::int32_t>& out,
                              SpmScratch& s) const {
  if (!words_are_independent_) {
    encode_word(vocab, text, out, s);
    return;
  }
  for (std::size_t begin = 0; begin < text.size();) {
    const std::size_t end = word_end(text, begin);
    const std::string_view word = text.substr(begin, end - begin);
    const std::uint64_t hash = hash_bytes(word);
    if (!s.cache.find(word, hash, out)) {
      const std::size_t first = out.size();
      encode_word(vocab, word, out, s);
      if (word.size() <= 64) s.cache.insert(word, hash, std::span<const std::int32_t>(out).subspan(first));
    }
    begin = end;
  }
}

void SentencePieceBpe::encode_word(const Vocabulary& vocab, std::string_view text, std::vector<std::int32_t>& out,
                                   SpmScratch& s) const {
  if (text.empty()) return;
  s.symbols.clear();
  s.heap.clear();
  const char* base = text.data();
  const char* end = base + text.size();
  for (const char* p = base; p < end;) {
    const std::size_t n = static_cast<unsigned char>(*p) < 0x80 ? 1 : decode_utf8(p, end).length;
    const auto index = static_cast<std::int32_t>(s.symbols.size());
    s.symbols.push_back({index - 1, index + 1, static_cast<std::uint32_t>(p - base), static_cast<std::uint32_t>(n)});
    p += n;
  }
  s.symbols.back().next = -1;

  auto try_pair = [&](std::int32_t left, std::int32_t right) {
    if (left < 0 || right < 0) return;
    const auto& l = s.symbols[left];
    const auto& r = s.symbols[right];
    const std::int32_t id = vocab.find(text.substr(l.start, l.length + r.length));
    if (id < 0) return;
    s.heap.push_back({vocab.score(id), static_cast<std::uint32_t>(left), static_cast<std::uint32_t>(right),
                      l.length + r.length});
    std::push_heap(s.heap.begin(), s.heap.end(), bigram_after);
  };
  for (std::size_t i = 1; i < s.symbols.size(); ++i) {
    try_pair(static_cast<std::int32_t>(i - 1), static_cast<std::int32_t>(i));
  }

  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), bigram_after);
    const SpmScratch::Bigram b = s.heap.back();
    s.heap.pop_back();
    auto& l = s.symbols[b.left];
    auto& r = s.symbols[b.right];
    // A side merged away, or the right one grew: the pair no longer exists.
    if (l.length == 0 || r.length == 0 || l.length + r.length != b.length) continue;
    l.length += r.length;
    r.length = 0;
    l.next = r.next;
    if (r.next >= 0) s.symbols[r.next].prev = static_cast<std::int32_t>(b.left);
    try_pair(l.prev, static_cast<std::int32_t>(b.left));
    try_pair(static_cast<std::int32_t>(b.left), l.next);
  }

  for (std::int32_t i = 0; i >= 0; i = s.symbols[i].next) {
    const auto& sym = s.symbols[i];
    const std::string_view piece = text.substr(sym.start, sym.length);
    const std::int32_t id = vocab.find(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (char c : piece) {
      const std::int32_t byte_id = byte_token_[static_cast<unsigned char>(c)];
      if (byte_id >= 0) {
        out.push_back(byte_id);
      } else if (vocab.unk) {
        out.push_back(*vocab.unk);
      }
    }
  }
}

}  // namespace pensieve::tokenizer
