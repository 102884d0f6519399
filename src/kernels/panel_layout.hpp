// kernels/panel_layout: weight rows repacked at load time for kernels whose vector lanes run over
// 16 rows (the AVX-512 integer kernels). A panel holds 16 consecutive rows, interleaved by 4-byte
// words: word k of the panel is 64 bytes, bytes 4k..4k+3 of row 0, then of row 1, … of row 15.
// Nothing else changes: the blocks keep their GGUF encoding, so a panel is as large as its rows
// (rounded up to 4 bytes per row and 16 rows per panel) and one vector load gives the kernel the
// same word of 16 rows, which it would otherwise gather and transpose for every call. Decode reads
// every weight once per token, so that transpose, not the arithmetic, was most of its time.
//
// The repacked copy lives beside the rows it came from; the rows stay valid (an embedding look-up
// reads one row) but need not stay resident.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pensieve::kernels {

struct WeightMatrix;

inline constexpr std::size_t kPanelRows = 16;
inline constexpr std::size_t kPanelWordBytes = 4 * kPanelRows;
// Readable bytes after the last panel: kernels may load a few words past a row's last block
// (and ignore them) rather than test for the end.
inline constexpr std::size_t kPanelSlackBytes = 16 * kPanelWordBytes;

// Bytes of one panel of rows of `row_bytes` bytes.
constexpr std::size_t panel_stride(std::size_t row_bytes) {
  return (row_bytes + 3) / 4 * kPanelWordBytes;
}
constexpr std::size_t panel_count(std::size_t rows) {
  return (rows + kPanelRows - 1) / kPanelRows;
}
// Bytes of a repacked matrix of `rows` rows, slack included.
constexpr std::size_t panels_bytes(std::size_t rows, std::size_t row_bytes) {
  return panel_count(rows) * panel_stride(row_bytes) + kPanelSlackBytes;
}

// Writes panels [first, end) of w (its rows, w.data) to `panels` (the start of panel 0, 64-byte
// aligned). Rows past w.rows are zero.
void repack_panels(const WeightMatrix& w, std::size_t first, std::size_t end, std::uint8_t* panels);

// Row r of a repacked matrix back in its stored encoding (row_bytes bytes to `out`).
void unpack_panel_row(const std::uint8_t* panels, std::size_t row_bytes, std::size_t r, std::uint8_t* out);

}  // namespace pensieve::kernels
