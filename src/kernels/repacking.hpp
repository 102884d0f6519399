// kernels/repacking: the layouts a kernel table can ask for weight matrices to be rearranged into
// at load time, so that its kernels never rearrange weights per call. Which layout (if any) is a
// property of the table and the weight type (KernelTable::repacking_of); the model makes the copy
// (WeightMatrix::repacked) and tells the kernels which layout it holds (WeightMatrix::repacking).
// Every layout keeps every byte of the rows, so a row can be read back from the copy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/fifth_bits.hpp"
#include "kernels/pair_scales.hpp"
#include "kernels/panel_layout.hpp"
#include "kernels/q6k_planes.hpp"

namespace pensieve::kernels {

enum class Repacking : std::uint8_t {
  kNone,        // the kernels read the rows as stored
  kPanels,      // 16 rows interleaved by 4-byte words (panel_layout.hpp)
  kQ6KPlanes,   // Q6_K rows, each block's codes in six planes (q6k_planes.hpp)
  kQ5Panels,    // Q5_0/Q5_1 panels as kPanels, each block's fifth bits reordered (fifth_bits.hpp)
  kPairPanels,  // Q4_0/IQ4_NL/Q8_0 panels as kPanels, blocks in pairs behind their scales (pair_scales.hpp)
};

// Layouts of 16-row panels (panel_layout.hpp).
constexpr bool in_panels(Repacking repacking) {
  return repacking == Repacking::kPanels || repacking == Repacking::kQ5Panels ||
         repacking == Repacking::kPairPanels;
}

// Rows a layout keeps together: a copy is made, and a matrix sliced, by whole units.
constexpr std::size_t repacked_unit_rows(Repacking repacking) {
  return in_panels(repacking) ? kPanelRows : 1;
}
constexpr std::size_t repacked_units(Repacking repacking, std::size_t rows) {
  return (rows + repacked_unit_rows(repacking) - 1) / repacked_unit_rows(repacking);
}
// Where unit u of a copy begins.
constexpr std::size_t repacked_offset(Repacking repacking, std::size_t u, std::size_t row_bytes) {
  return in_panels(repacking) ? u * panel_stride(row_bytes) : u * row_bytes;
}
// Bytes of the copy of `rows` rows of `row_bytes` bytes, slack included.
constexpr std::size_t repacked_bytes(Repacking repacking, std::size_t rows, std::size_t row_bytes) {
  return in_panels(repacking) ? panels_bytes(rows, row_bytes) : rows * row_bytes;
}

// Units [first, end) of w's rows (w.data) into the copy that starts at `out`.
void repack(Repacking repacking, const WeightMatrix& w, std::size_t first, std::size_t end,
            std::uint8_t* out);
// Row r of w's copy (w.repacked, in the layout w.repacking) back in its stored encoding
// (w.row_bytes bytes to `out`).
void unpack_repacked_row(const WeightMatrix& w, std::size_t r, std::uint8_t* out);

}  // namespace pensieve::kernels
