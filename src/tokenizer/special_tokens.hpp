// tokenizer/special_tokens: finds added tokens (control, user-defined, unknown) in raw text and
// cuts the text into fragments — plain text, or one such token. Which kinds may match is the
// caller's choice, so untrusted text can be kept from ever forming a control token.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocabulary.hpp"

namespace pensieve::tokenizer {

enum class SpecialMatching {
  kNone,         // nothing matches: all of the text is ordinary text
  kUserDefined,  // user-defined tokens only (how reference tokenizers treat plain text)
  kAll,          // control, user-defined and unknown tokens
};

struct Fragment {
  std::uint32_t begin = 0;  // byte range in the text, for plain text
  std::uint32_t end = 0;
  std::int32_t token = -1;  // >= 0: this fragment is that token
};

class SpecialTokenMatcher {
 public:
  SpecialTokenMatcher() = default;
  explicit SpecialTokenMatcher(const Vocabulary& vocab);

  // Appends the fragments of text[begin, end) to `out` (offsets are into `text`). At each
  // position the longest allowed token wins; the leftmost match is taken first.
  void partition(std::string_view text, std::size_t begin, std::size_t end, SpecialMatching matching,
                 std::vector<Fragment>& out) const;

 private:
  struct Candidate {
    std::int32_t id;
    std::uint32_t offset;  // into texts_
    std::uint32_t length;
    bool user_defined;
    bool strip_space_after;
  };
  // Candidates sorted by (first two bytes, length descending); `buckets_` lists the distinct
  // two-byte prefixes with where their run starts. Single-byte tokens live in single_byte_.
  struct Bucket {
    std::uint16_t prefix;
    std::uint32_t first;
    std::uint32_t last;
  };

  const Candidate* match_at(std::string_view text, std::size_t pos, std::size_t end,
                            SpecialMatching matching) const;

  std::string texts_;
  std::vector<Candidate> candidates_;
  std::vector<Bucket> buckets_;
  std::array<std::int32_t, 256> single_byte_{};  // index into candidates_, or -1
  std::array<bool, 256> may_start_{};
};

}  // namespace pensieve::tokenizer
