#include "tokenizer/special_tokens.hpp"

#include <algorithm>
#include <cstring>

#include "tokenizer/token_roles.hpp"

namespace pensieve::tokenizer {
namespace {

std::uint16_t prefix_of(const char* p) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(p[0]) << 8 | static_cast<unsigned char>(p[1]));
}

bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace

SpecialTokenMatcher::SpecialTokenMatcher(const Vocabulary& vocab) {
  single_byte_.fill(-1);
  may_start_.fill(false);
  for (std::int32_t id = 0; id < vocab.size(); ++id) {
    const TokenType type = vocab.type(id);
    if (type != TokenType::kControl && type != TokenType::kUserDefined && type != TokenType::kUnknown) continue;
    const std::string_view text = vocab.text(id);
    if (text.empty()) continue;
    candidates_.push_back({id, static_cast<std::uint32_t>(texts_.size()), static_cast<std::uint32_t>(text.size()),
                           type == TokenType::kUserDefined, strips_space_after(vocab.architecture(), text)});
    texts_.append(text);
  }
  const char* base = texts_.data();
  // Multi-byte tokens first, grouped by their first two bytes, longest first within a group.
  std::stable_sort(candidates_.begin(), candidates_.end(), [base](const Candidate& a, const Candidate& b) {
    if ((a.length == 1) != (b.length == 1)) return a.length != 1;
    if (a.length == 1) return false;
    const std::uint16_t pa = prefix_of(base + a.offset), pb = prefix_of(base + b.offset);
    if (pa != pb) return pa < pb;
    return a.length > b.length;
  });
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    const Candidate& c = candidates_[i];
    const auto first_byte = static_cast<unsigned char>(base[c.offset]);
    may_start_[first_byte] = true;
    if (c.length == 1) {
      if (single_byte_[first_byte] < 0) single_byte_[first_byte] = static_cast<std::int32_t>(i);
      continue;
    }
    const std::uint16_t prefix = prefix_of(base + c.offset);
    if (buckets_.empty() || buckets_.back().prefix != prefix) {
      buckets_.push_back({prefix, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i)});
    }
    buckets_.back().last = static_cast<std::uint32_t>(i + 1);
  }
}

const SpecialTokenMatcher::Candidate* SpecialTokenMatcher::match_at(std::string_view text, std::size_t pos,
                                                                    std::size_t end,
                                                                    SpecialMatching matching) const {
  auto allowed = [matching](const Candidate& c) {
    return matching == SpecialMatching::kAll || (matching == SpecialMatching::kUserDefined && c.user_defined);
  };
  if (pos + 1 < end) {
    const std::uint16_t prefix = prefix_of(text.data() + pos);
    auto it = std::lower_bound(buckets_.begin(), buckets_.end(), prefix,
                               [](const Bucket& b, std::uint16_t p) { return b.prefix < p; });
    if (it != buckets_.end() && it->prefix == prefix) {
      for (std::uint32_t i = it->first; i < it->last; ++i) {
        const Candidate& c = candidates_[i];
        if (c.length <= end - pos && allowed(c) &&
            std::memcmp(text.data() + pos, texts_.data() + c.offset, c.length) == 0) {
          return &c;
        }
      }
    }
  }
  const std::int32_t single = single_byte_[static_cast<unsigned char>(text[pos])];
  if (single >= 0 && allowed(candidates_[single])) return &candidates_[single];
  return nullptr;
}

void SpecialTokenMatcher::partition(std::string_view text, std::size_t begin, std::size_t end,
                                    SpecialMatching matching, std::vector<Fragment>& out) const {
  auto raw = [&out](std::size_t from, std::size_t to) {
    if (from < to) out.push_back({static_cast<std::uint32_t>(from), static_cast<std::uint32_t>(to), -1});
  };
  if (matching == SpecialMatching::kNone || candidates_.empty()) {
    raw(begin, end);
    return;
  }
  std::size_t raw_start = begin;
  std::size_t pos = begin;
  while (pos < end) {
    if (!may_start_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    const Candidate* c = match_at(text, pos, end, matching);
    if (c == nullptr) {
      ++pos;
      continue;
    }
    raw(raw_start, pos);
    out.push_back({static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(pos + c->length), c->id});
    pos += c->length;
    if (c->strip_space_after) {
      while (pos < end && is_ascii_space(text[pos])) ++pos;
    }
    raw_start = pos;
  }
  raw(raw_start, end);
}

}  // namespace pensieve::tokenizer
