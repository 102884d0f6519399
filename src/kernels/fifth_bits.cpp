// kernels/fifth_bits: see fifth_bits.hpp.
#include "kernels/fifth_bits.hpp"

#include <cassert>
#include <cstring>

namespace pensieve::kernels {
namespace {

// Where a block's qh dword sits, and how large the block is.
struct Q5Layout {
  std::size_t block_bytes, qh_at;
};

Q5Layout q5_layout(tensor::TensorType type) {
  assert(type == tensor::TensorType::kQ5_0 || type == tensor::TensorType::kQ5_1);
  return type == tensor::TensorType::kQ5_0 ? Q5Layout{22, 2} : Q5Layout{24, 4};
}

template <std::uint32_t (*kMap)(std::uint32_t)>
void map_rows(tensor::TensorType type, std::uint8_t* rows, std::size_t count, std::size_t row_bytes) {
  const Q5Layout layout = q5_layout(type);
  for (std::size_t r = 0; r < count; ++r) {
    std::uint8_t* row = rows + r * row_bytes;
    for (std::size_t at = 0; at + layout.block_bytes <= row_bytes; at += layout.block_bytes) {
      std::uint32_t qh;
      std::memcpy(&qh, row + at + layout.qh_at, sizeof qh);
      qh = kMap(qh);
      std::memcpy(row + at + layout.qh_at, &qh, sizeof qh);
    }
  }
}

}  // namespace

std::uint32_t reorder_fifth_bits(std::uint32_t qh) {
  std::uint32_t out = 0;
  for (unsigned j = 0; j < 8; ++j) {
    for (unsigned k = 0; k < 4; ++k) out |= (qh >> (4 * j + k) & 1u) << (8 * k + j);
  }
  return out;
}

std::uint32_t restore_fifth_bits(std::uint32_t reordered) {
  std::uint32_t out = 0;
  for (unsigned j = 0; j < 8; ++j) {
    for (unsigned k = 0; k < 4; ++k) out |= (reordered >> (8 * k + j) & 1u) << (4 * j + k);
  }
  return out;
}

void reorder_fifth_bits_rows(tensor::TensorType type, std::uint8_t* rows, std::size_t count,
                             std::size_t row_bytes) {
  map_rows<reorder_fifth_bits>(type, rows, count, row_bytes);
}

void restore_fifth_bits_rows(tensor::TensorType type, std::uint8_t* rows, std::size_t count,
                             std::size_t row_bytes) {
  map_rows<restore_fifth_bits>(type, rows, count, row_bytes);
}

}  // namespace pensieve::kernels
