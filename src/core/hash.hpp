// core/hash: a fast 64-bit hash of byte streams, for checksums of files this program writes and
// reads back (the prompt cache on disk) and for identities built from many small pieces. Not
// cryptographic: it catches truncation, bit rot and mix-ups, not an adversary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace pensieve::core {

class Hash64 {
 public:
  // Feeding the same bytes in any split gives the same digest.
  void update(std::span<const std::uint8_t> bytes);
  void update(std::string_view text) {
    update(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }
  void update_u64(std::uint64_t value);
  std::uint64_t digest() const;

 private:
  void mix(std::uint64_t word);

  std::uint64_t state_ = 0x9e3779b97f4a7c15ull;
  std::uint64_t length_ = 0;
  std::uint64_t pending_ = 0;  // bytes not yet making a whole word, low byte first
  unsigned pending_bytes_ = 0;
};

std::uint64_t hash64(std::span<const std::uint8_t> bytes);

}  // namespace pensieve::core
