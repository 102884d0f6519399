#include "kernels/repacking.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/matmul.hpp"

namespace pensieve::kernels {

void repack(Repacking repacking, const WeightMatrix& w, std::size_t first, std::size_t end,
            std::uint8_t* out) {
  switch (repacking) {
    case Repacking::kNone:
      std::memcpy(out + first * w.row_bytes, w.data + first * w.row_bytes, (end - first) * w.row_bytes);
      return;
    case Repacking::kPanels:
      repack_panels(w, first, end, out);
      return;
    case Repacking::kQ6KPlanes:
      repack_q6k_planes(w, first, end, out);
      return;
    case Repacking::kQ5Panels: {
      // A panel's rows at a time through a buffer, their fifth bits reordered, then interleaved.
      std::vector<std::uint8_t> rows(kPanelRows * w.row_bytes);
      for (std::size_t p = first; p < end; ++p) {
        const std::size_t r0 = p * kPanelRows;
        const std::size_t n = std::min(kPanelRows, w.rows - r0);
        std::memcpy(rows.data(), w.data + r0 * w.row_bytes, n * w.row_bytes);
        reorder_fifth_bits_rows(w.type, rows.data(), n, w.row_bytes);
        const WeightMatrix panel{w.type, rows.data(), n, w.cols, w.row_bytes};
        repack_panels(panel, 0, 1, out + p * panel_stride(w.row_bytes));
      }
      return;
    }
    case Repacking::kPairPanels:
      repack_pair_panels(w, first, end, out);
      return;
  }
}

void unpack_repacked_row(const WeightMatrix& w, std::size_t r, std::uint8_t* out) {
  switch (w.repacking) {
    case Repacking::kNone:
      std::memcpy(out, w.repacked + r * w.row_bytes, w.row_bytes);
      return;
    case Repacking::kPanels:
      unpack_panel_row(w.repacked, w.row_bytes, r, out);
      return;
    case Repacking::kQ6KPlanes:
      for (std::size_t at = 0; at < w.row_bytes; at += kQ6KBlockBytes)
        q6k_block_from_planes(w.repacked + r * w.row_bytes + at, out + at);
      return;
    case Repacking::kQ5Panels:
      unpack_panel_row(w.repacked, w.row_bytes, r, out);
      restore_fifth_bits_rows(w.type, out, 1, w.row_bytes);
      return;
    case Repacking::kPairPanels:
      unpack_pair_panel_row(w.repacked, w.row_bytes, tensor::traits_of(w.type).block_bytes, r, out);
      return;
  }
}

}  // namespace pensieve::kernels
