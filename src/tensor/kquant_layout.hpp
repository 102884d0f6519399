// tensor/kquant_layout: shared facts of the K-quant super-block formats (internal to tensor/).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pensieve::tensor::detail {

inline constexpr std::size_t kSuperBlock = 256;
inline constexpr std::size_t kQ2KBytes = 16 + 64 + 2 + 2;
inline constexpr std::size_t kQ3KBytes = 32 + 64 + 12 + 2;
inline constexpr std::size_t kIQ4XSBytes = 2 + 2 + 4 + 128;
inline constexpr std::size_t kQ4KBytes = 2 + 2 + 12 + 128;
inline constexpr std::size_t kQ5KBytes = 2 + 2 + 12 + 32 + 128;
inline constexpr std::size_t kQ6KBytes = 128 + 64 + 16 + 2;
inline constexpr std::size_t kQ8KBytes = 4 + 256 + 2 * 16;

struct ScaleMin {
  std::uint8_t scale;
  std::uint8_t min;
};

// Q4_K/Q5_K pack 8 six-bit scales and 8 six-bit minimums into 12 bytes. Groups 0..3 keep theirs
// whole in the low 6 bits of bytes 0..3 (scales) and 4..7 (minimums); groups 4..7 keep their low
// 4 bits in the nibbles of bytes 8..11 (scale low, minimum high) and their top 2 bits in the
// otherwise unused top bits of bytes 0..3 (scales) and 4..7 (minimums).
inline ScaleMin unpack_scale_min(const std::uint8_t* packed, std::size_t group) {
  if (group < 4) {
    return {static_cast<std::uint8_t>(packed[group] & 63), static_cast<std::uint8_t>(packed[group + 4] & 63)};
  }
  const std::uint8_t nibbles = packed[group + 4];
  return {static_cast<std::uint8_t>((nibbles & 0x0f) | ((packed[group - 4] >> 6) << 4)),
          static_cast<std::uint8_t>((nibbles >> 4) | ((packed[group] >> 6) << 4))};
}

inline void pack_scale_min(std::uint8_t* packed, std::size_t group, ScaleMin v) {
  if (group < 4) {
    packed[group] = static_cast<std::uint8_t>((packed[group] & 0xc0) | (v.scale & 63));
    packed[group + 4] = static_cast<std::uint8_t>((packed[group + 4] & 0xc0) | (v.min & 63));
    return;
  }
  packed[group + 4] = static_cast<std::uint8_t>((v.scale & 0x0f) | ((v.min & 0x0f) << 4));
  packed[group - 4] = static_cast<std::uint8_t>((packed[group - 4] & 63) | ((v.scale >> 4) << 6));
  packed[group] = static_cast<std::uint8_t>((packed[group] & 63) | ((v.min >> 4) << 6));
}

}  // namespace pensieve::tensor::detail
