// kernels/pair_scales: see pair_scales.hpp.
#include "kernels/pair_scales.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

#include "kernels/matmul.hpp"
#include "kernels/panel_layout.hpp"

namespace pensieve::kernels {
namespace {

constexpr std::size_t kScaleBytes = 2;

// Calls move(stored, paired, bytes) for every field of a row: where it sits in the stored row and
// where in the paired one.
template <class Move>
void for_each_field(std::size_t row_bytes, std::size_t block_bytes, Move&& move) {
  assert(block_bytes % 4 == kScaleBytes && row_bytes % block_bytes == 0);
  const std::size_t blocks = row_bytes / block_bytes, codes = block_bytes - kScaleBytes;
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t stored = b * block_bytes;
    const std::size_t pair = b / 2 * 2 * block_bytes;  // the pair's start; a pair keeps its bytes
    move(stored, pair + kScaleBytes * (b % 2), kScaleBytes);
    move(stored + kScaleBytes, pair + 2 * kScaleBytes + codes * (b % 2), codes);
  }
}

// Where, within a panel word, row r's bytes [4r, 4r + 4) of plain panels go when the word is a
// pair's scales: its half panel's 32 bytes, the first block's scales then the second's.
std::size_t scale_byte(std::size_t r, std::size_t byte) {
  return 32 * (r / 8) + 16 * (byte / kScaleBytes) + kScaleBytes * (r % 8) + byte % kScaleBytes;
}

}  // namespace

void pair_scales(const std::uint8_t* row, std::size_t row_bytes, std::size_t block_bytes, std::uint8_t* out) {
  std::memset(out, 0, paired_row_bytes(row_bytes));
  for_each_field(row_bytes, block_bytes, [&](std::size_t stored, std::size_t paired, std::size_t bytes) {
    std::memcpy(out + paired, row + stored, bytes);
  });
}

void repack_pair_panels(const WeightMatrix& w, std::size_t first, std::size_t end, std::uint8_t* panels) {
  const std::size_t block_bytes = tensor::traits_of(w.type).block_bytes;
  const std::size_t paired = paired_row_bytes(w.row_bytes), stride = panel_stride(w.row_bytes);
  const std::size_t pair_words = block_bytes / 2;  // a pair of blocks is 2·block_bytes, in dwords
  std::vector<std::uint8_t> rows(kPanelRows * paired);
  for (std::size_t p = first; p < end; ++p) {
    // The panel's rows paired, interleaved as plain panels, then each scale word rearranged.
    const std::size_t r0 = p * kPanelRows;
    const std::size_t n = std::min(kPanelRows, w.rows - r0);
    for (std::size_t r = 0; r < n; ++r)
      pair_scales(w.data + (r0 + r) * w.row_bytes, w.row_bytes, block_bytes, rows.data() + r * paired);
    std::uint8_t* panel = panels + p * stride;
    repack_panels(WeightMatrix{w.type, rows.data(), n, w.cols, paired}, 0, 1, panel);
    for (std::size_t k = 0; k < paired / 4; k += pair_words) {
      std::uint8_t* word = panel + k * kPanelWordBytes;
      std::uint8_t plain[kPanelWordBytes];
      std::memcpy(plain, word, kPanelWordBytes);
      for (std::size_t r = 0; r < kPanelRows; ++r) {
        for (std::size_t byte = 0; byte < 4; ++byte) word[scale_byte(r, byte)] = plain[4 * r + byte];
      }
    }
  }
}

void unpack_pair_panel_row(const std::uint8_t* panels, std::size_t row_bytes, std::size_t block_bytes,
                           std::size_t r, std::uint8_t* out) {
  // Straight from the panel, with no buffer: a tied embedding reads a row this way every token.
  const std::size_t pair_words = block_bytes / 2, in_panel = r % kPanelRows;
  const std::uint8_t* panel = panels + r / kPanelRows * panel_stride(row_bytes);
  for_each_field(row_bytes, block_bytes, [&](std::size_t stored, std::size_t paired, std::size_t bytes) {
    for (std::size_t q = paired; q < paired + bytes; ++q) {
      const std::uint8_t* word = panel + q / 4 * kPanelWordBytes;
      out[stored + q - paired] =
          q / 4 % pair_words == 0 ? word[scale_byte(in_panel, q % 4)] : word[4 * in_panel + q % 4];
    }
  });
}

}  // namespace pensieve::kernels
