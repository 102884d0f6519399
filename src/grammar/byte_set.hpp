// grammar/byte_set: a set of byte values, the label of one grammar edge.
#pragma once

#include <array>
#include <cstdint>

namespace pensieve::grammar {

class ByteSet {
 public:
  constexpr ByteSet() = default;
  static ByteSet range(std::uint8_t lo, std::uint8_t hi) {
    ByteSet s;
    s.add_range(lo, hi);
    return s;
  }
  static ByteSet single(std::uint8_t b) { return range(b, b); }

  bool test(std::uint8_t b) const { return (words_[b >> 6] >> (b & 63)) & 1; }
  void add(std::uint8_t b) { words_[b >> 6] |= std::uint64_t{1} << (b & 63); }
  void add_range(std::uint8_t lo, std::uint8_t hi) {
    for (unsigned b = lo; b <= hi; ++b) add(static_cast<std::uint8_t>(b));
  }
  bool empty() const { return (words_[0] | words_[1] | words_[2] | words_[3]) == 0; }
  ByteSet& operator|=(const ByteSet& o) {
    for (int i = 0; i < 4; ++i) words_[i] |= o.words_[i];
    return *this;
  }
  bool operator==(const ByteSet& o) const = default;
  const std::array<std::uint64_t, 4>& words() const { return words_; }

 private:
  std::array<std::uint64_t, 4> words_{};
};

}  // namespace pensieve::grammar
