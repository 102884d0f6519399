// kernels/pair_scales: panels (panel_layout.hpp) of the 32-value types whose block is an fp16
// scale and then a whole number of dwords (Q4_0 and IQ4_NL: 18 bytes, Q8_0: 34), rearranged at
// load time for the AVX2 kernels (Repacking::kPairPanels).
//
// Such a block is 2 bytes past a multiple of 4, so in plain panels every other block starts 2 bytes
// into a dword and each of its code dwords straddles two: the kernel loaded both and shifted and
// blended them, three operations a dword, for half the blocks, and took a block's 8 scales out of
// the low or high halves of 8 dwords with a shuffle and a permute. Here the blocks of a row go in
// pairs: the pair's first dword holds the two scales, then come the first block's codes, then the
// second's, so every code dword is whole (pair_scales below; a last block without a partner keeps
// its scale in the low half, the high half zero; a row grows by at most 2 bytes, which a panel's
// dwords already hold). The rows are then interleaved as in plain panels, except each pair's scale
// word: of its 64 bytes, each half panel's 32 hold the 8 first-block scales of its rows, then the
// 8 second-block scales, so a block's scales are one 16-byte load, ready to convert.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pensieve::kernels {

struct WeightMatrix;

// Bytes of a row of `row_bytes` bytes with its scales paired: rounded up to a dword.
constexpr std::size_t paired_row_bytes(std::size_t row_bytes) {
  return (row_bytes + 3) / 4 * 4;
}

// One row of `row_bytes` bytes (blocks of `block_bytes`) with its scales paired.
void pair_scales(const std::uint8_t* row, std::size_t row_bytes, std::size_t block_bytes, std::uint8_t* out);

// Writes panels [first, end) of w (its rows, w.data) in this layout to `panels` (the start of
// panel 0, 64-byte aligned): panel_stride(w.row_bytes) bytes a panel, as plain panels.
void repack_pair_panels(const WeightMatrix& w, std::size_t first, std::size_t end, std::uint8_t* panels);

// Row r of such panels back in its stored encoding (row_bytes bytes to `out`).
void unpack_pair_panel_row(const std::uint8_t* panels, std::size_t row_bytes, std::size_t block_bytes,
                           std::size_t r, std::uint8_t* out);

}  // namespace pensieve::kernels
