// The repacked panel layout: every row comes back byte for byte, padding rows are zero, and a
// word of the panel holds the same word of its 16 rows.
#include "kernels/panel_layout.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/matmul.hpp"

namespace pensieve::kernels {
namespace {

TEST(PanelLayout, RowsComeBackByteForByte) {
  std::mt19937 rng(3);
  // Row sizes that are and are not a multiple of 4 bytes (Q4_0: 18 bytes a block).
  for (std::size_t row_bytes : {std::size_t{18}, std::size_t{54}, std::size_t{144}, std::size_t{420}}) {
    const std::size_t rows = 37;  // two full panels and a partial one
    std::vector<std::uint8_t> data(rows * row_bytes);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    const WeightMatrix w{tensor::TensorType::kQ4_0, data.data(), rows, row_bytes / 18 * 32, row_bytes};
    std::vector<std::uint8_t> panels(panels_bytes(rows, row_bytes), 0xee);
    repack_panels(w, 0, panel_count(rows), panels.data());
    std::vector<std::uint8_t> row(row_bytes);
    for (std::size_t r = 0; r < rows; ++r) {
      unpack_panel_row(panels.data(), row_bytes, r, row.data());
      ASSERT_EQ(0, std::memcmp(row.data(), data.data() + r * row_bytes, row_bytes)) << "row " << r;
    }
    // Word 1 of panel 1: bytes 4..7 of rows 16..31, side by side.
    const std::uint8_t* word = panels.data() + panel_stride(row_bytes) + kPanelWordBytes;
    for (std::size_t r = 0; r < kPanelRows; ++r) {
      ASSERT_EQ(0, std::memcmp(word + 4 * r, data.data() + (16 + r) * row_bytes + 4, 4)) << "row " << 16 + r;
    }
    // Rows 37..47 of the last panel are zero, as is the end of each row's last word.
    for (std::size_t r = rows; r < 48; ++r) {
      unpack_panel_row(panels.data(), row_bytes, r, row.data());
      for (std::uint8_t b : row) ASSERT_EQ(b, 0) << "padding row " << r;
    }
    if (row_bytes % 4 != 0) {
      const std::uint8_t* last = panels.data() + (row_bytes / 4) * kPanelWordBytes;
      for (std::size_t i = row_bytes % 4; i < 4; ++i) EXPECT_EQ(last[i], 0) << "byte " << i << " past row 0";
    }
  }
}

TEST(PanelLayout, EmbeddingLookUpReadsThePanelsAlike) {
  std::mt19937 rng(5);
  const std::size_t rows = 21, cols = 96, row_bytes = 3 * 34;  // Q8_0: 34 bytes a block of 32
  std::vector<std::uint8_t> data(rows * row_bytes);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng() % 64);  // small scales, finite
  WeightMatrix w{tensor::TensorType::kQ8_0, data.data(), rows, cols, row_bytes};
  std::vector<std::uint8_t> panels(panels_bytes(rows, row_bytes));
  repack_panels(w, 0, panel_count(rows), panels.data());
  std::vector<float> want(cols), got(cols);
  for (std::size_t r = 0; r < rows; ++r) {
    dequantize_row(w, r, want.data());
    WeightMatrix packed = w;
    packed.repacked = panels.data();
    packed.repacking = Repacking::kPanels;
    packed.data = nullptr;  // must not be read
    dequantize_row(packed, r, got.data());
    ASSERT_EQ(0, std::memcmp(got.data(), want.data(), cols * sizeof(float))) << "row " << r;
  }
}

TEST(PanelLayout, SizesCountWholePanelsAndSlack) {
  EXPECT_EQ(panel_stride(144), 36 * kPanelWordBytes);
  EXPECT_EQ(panel_stride(18), 5 * kPanelWordBytes);
  EXPECT_EQ(panel_count(16), 1u);
  EXPECT_EQ(panel_count(17), 2u);
  EXPECT_EQ(panels_bytes(17, 144), 2 * panel_stride(144) + kPanelSlackBytes);
}

}  // namespace
}  // namespace pensieve::kernels
