// The built-in byte-level vocabulary: GPT-2's byte alphabet plus merges learned, by plain BPE
// training, from a short English text. Small (a few hundred tokens) so it fits the tiny shapes,
// yet real: ordinary text encodes to whole words and syllables, not single bytes.
#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_set>
#include <utility>

#include "synth/vocabulary.hpp"

namespace pensieve::synth {
namespace {

// The training text. Any prose would do; this one uses the commonest English words.
constexpr std::string_view kTrainingText =
    "The model reads the text one token at a time and writes the next one. It is a small part of "
    "a larger system, and there is more to the story than that. When a person asks a question, "
    "the server turns the words into numbers, and the numbers into an answer. That is how it "
    "works, and that is what we want to measure: how long it takes, how much memory it needs, "
    "and whether the answer comes back in time. We have been working on this for some time now. "
    "Each of the parts should be tested on its own, and then all of them together. If something "
    "goes wrong, the error should tell you what happened and where to look. There are many "
    "things that could be better, but the first thing is to make it work, then to make it right, "
    "and only then to make it fast. People often think the other way around. They would rather "
    "start with the fastest code they can write, and find out later that it was wrong. In the "
    "end, the time we save by doing things in the right order is greater than the time we "
    "spend. Remember the important things: read the question, think about the answer, write it "
    "down, and check it again before you give it to anyone else. This is the way good work has "
    "always been done, and it is the way we will keep doing it for as long as we can.";

// GPT-2's byte alphabet: printable bytes stand for themselves, the other 68 (controls, space,
// DEL, NBSP, soft hyphen, …) for code points 256, 257, … in byte order, so every token text is
// printable. Token order follows the same split: printable bytes first, then the others.
bool is_printable_byte(unsigned b) {
  return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
}

std::string utf8(std::uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else {  // every code point here is below 0x800
    s.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
  return s;
}

struct ByteAlphabet {
  std::string symbol[256];   // byte → its token text
  unsigned order[256] = {};  // token id → byte
};

ByteAlphabet make_alphabet() {
  ByteAlphabet a;
  unsigned next_id = 0, next_extra = 256;
  for (unsigned b = 0; b < 256; ++b) {
    if (is_printable_byte(b)) a.order[next_id++] = b;
  }
  for (unsigned b = 0; b < 256; ++b) {
    if (is_printable_byte(b)) {
      a.symbol[b] = utf8(b);
    } else {
      a.symbol[b] = utf8(next_extra++);
      a.order[next_id++] = b;
    }
  }
  return a;
}

using Word = std::vector<std::string>;  // a word as its current symbols

// Splits like the GPT-2 family's pre-tokenizers, simplified for ASCII prose: a word is a run of
// letters with the space before it; anything else stands alone.
std::map<Word, int> training_words(const ByteAlphabet& a) {
  std::map<Word, int> words;
  const std::string_view t = kTrainingText;
  for (std::size_t i = 0; i < t.size();) {
    const std::size_t start = i;
    if (t[i] == ' ' && i + 1 < t.size() && std::isalpha(static_cast<unsigned char>(t[i + 1]))) ++i;
    if (std::isalpha(static_cast<unsigned char>(t[i]))) {
      while (i < t.size() && std::isalpha(static_cast<unsigned char>(t[i]))) ++i;
    } else {
      ++i;
    }
    Word w;
    for (std::size_t j = start; j < i; ++j) w.push_back(a.symbol[static_cast<unsigned char>(t[j])]);
    ++words[w];
  }
  return words;
}

// Applies one merge to every occurrence of (left, right) in `w`, left to right.
Word merge_word(const Word& w, const std::string& left, const std::string& right) {
  Word out;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (i + 1 < w.size() && w[i] == left && w[i + 1] == right) {
      out.push_back(left + right);
      ++i;
    } else {
      out.push_back(w[i]);
    }
  }
  return out;
}

}  // namespace

TokenList builtin_byte_level_vocab(std::size_t max_merges) {
  const ByteAlphabet alphabet = make_alphabet();
  TokenList list;
  for (unsigned id = 0; id < 256; ++id)
    list.add(alphabet.symbol[alphabet.order[id]], tokenizer::TokenType::kNormal);
  std::unordered_set<std::string> known(list.texts.begin(), list.texts.end());

  std::map<Word, int> words = training_words(alphabet);
  while (list.merges.size() < max_merges) {
    // The most frequent adjacent pair; ties go to the smallest pair, so training is deterministic.
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const auto& [w, count] : words) {
      for (std::size_t i = 0; i + 1 < w.size(); ++i) pairs[{w[i], w[i + 1]}] += count;
    }
    auto best = pairs.end();
    for (auto it = pairs.begin(); it != pairs.end(); ++it) {
      if (best == pairs.end() || it->second > best->second) best = it;
    }
    if (best == pairs.end()) break;  // every word is one token already
    const auto [left, right] = best->first;
    list.merges.push_back(left + " " + right);
    if (known.insert(left + right).second) list.add(left + right, tokenizer::TokenType::kNormal);
    std::map<Word, int> merged;
    for (const auto& [w, count] : words) merged[merge_word(w, left, right)] += count;
    words = std::move(merged);
  }
  return list;
}

}  // namespace pensieve::synth
