#include "core/hash.hpp"

#include <cstring>

namespace pensieve::core {
namespace {

constexpr std::uint64_t kMul1 = 0xbf58476d1ce4e5b9ull;
constexpr std::uint64_t kMul2 = 0x94d049bb133111ebull;

std::uint64_t rotl(std::uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

// The splitmix64 finaliser: every input bit reaches every output bit.
std::uint64_t finalise(std::uint64_t x) {
  x = (x ^ (x >> 30)) * kMul1;
  x = (x ^ (x >> 27)) * kMul2;
  return x ^ (x >> 31);
}

}  // namespace

void Hash64::mix(std::uint64_t word) {
  state_ = rotl(state_ ^ (word * kMul1), 29) * kMul2;
}

void Hash64::update(std::span<const std::uint8_t> bytes) {
  length_ += bytes.size();
  std::size_t i = 0;
  // Complete a pending word byte by byte, then take whole words.
  while (pending_bytes_ != 0 && i < bytes.size()) {
    pending_ |= std::uint64_t{bytes[i++]} << (8 * pending_bytes_);
    if (++pending_bytes_ == 8) {
      mix(pending_);
      pending_ = 0;
      pending_bytes_ = 0;
    }
  }
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);  // little-endian hosts only (x86-64)
    mix(word);
  }
  for (; i < bytes.size(); ++i) pending_ |= std::uint64_t{bytes[i]} << (8 * pending_bytes_++);
}

void Hash64::update_u64(std::uint64_t value) {
  std::uint8_t bytes[8];
  std::memcpy(bytes, &value, 8);
  update(bytes);
}

std::uint64_t Hash64::digest() const {
  std::uint64_t s = state_;
  if (pending_bytes_ != 0)
    s = rotl(s ^ ((pending_ | (std::uint64_t{1} << (8 * pending_bytes_))) * kMul1), 29) * kMul2;
  return finalise(s ^ length_);
}

std::uint64_t hash64(std::span<const std::uint8_t> bytes) {
  Hash64 h;
  h.update(bytes);
  return h.digest();
}

}  // namespace pensieve::core
