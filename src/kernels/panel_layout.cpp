#include "kernels/panel_layout.hpp"

#include <cstring>

#include "kernels/matmul.hpp"

namespace pensieve::kernels {

void repack_panels(const WeightMatrix& w, std::size_t first, std::size_t end, std::uint8_t* panels) {
  const std::size_t stride = panel_stride(w.row_bytes);
  const std::size_t words = stride / kPanelWordBytes;
  for (std::size_t p = first; p < end; ++p) {
    std::uint8_t* panel = panels + p * stride;
    std::memset(panel, 0, stride);
    for (std::size_t r = 0; r < kPanelRows && p * kPanelRows + r < w.rows; ++r) {
      const std::uint8_t* row = w.data + (p * kPanelRows + r) * w.row_bytes;
      const std::size_t whole = w.row_bytes / 4;
      for (std::size_t k = 0; k < whole; ++k)
        std::memcpy(panel + k * kPanelWordBytes + 4 * r, row + 4 * k, 4);
      if (whole < words)
        std::memcpy(panel + whole * kPanelWordBytes + 4 * r, row + 4 * whole, w.row_bytes % 4);
    }
  }
}

void unpack_panel_row(const std::uint8_t* panels, std::size_t row_bytes, std::size_t r, std::uint8_t* out) {
  const std::uint8_t* panel = panels + r / kPanelRows * panel_stride(row_bytes);
  for (std::size_t at = 0; at < row_bytes; at += 4) {
    const std::size_t n = row_bytes - at < 4 ? row_bytes - at : 4;
    std::memcpy(out + at, panel + at / 4 * kPanelWordBytes + 4 * (r % kPanelRows), n);
  }
}

}  // namespace pensieve::kernels
