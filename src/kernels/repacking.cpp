#include "kernels/repacking.hpp"

#include <cstring>

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
  }
}

void unpack_repacked_row(Repacking repacking, const std::uint8_t* repacked, std::size_t row_bytes,
                         std::size_t r, std::uint8_t* out) {
  switch (repacking) {
    case Repacking::kNone:
      std::memcpy(out, repacked + r * row_bytes, row_bytes);
      return;
    case Repacking::kPanels:
      unpack_panel_row(repacked, row_bytes, r, out);
      return;
    case Repacking::kQ6KPlanes:
      for (std::size_t at = 0; at < row_bytes; at += kQ6KBlockBytes)
        q6k_block_from_planes(repacked + r * row_bytes + at, out + at);
      return;
  }
}

}  // namespace pensieve::kernels
