// Q4_0, IQ4_NL and Q8_0 panels with their blocks' scales in pairs (Repacking::kPairPanels): each
// field of a row lands where the header says, with every code dword whole; a half panel's scales
// of a block are one 16-byte run; and a repacked copy's rows read back as stored.
#include "kernels/pair_scales.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/matmul.hpp"
#include "kernels/panel_layout.hpp"
#include "kernels/repacking.hpp"

namespace pensieve::kernels {
namespace {

using tensor::TensorType;

std::vector<std::uint8_t> random_bytes(std::size_t n, std::mt19937& rng) {
  std::vector<std::uint8_t> bytes(n);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  return bytes;
}

// Blocks of b bytes: pair p's scales at 2b·p (first block) and 2b·p + 2 (second), the first
// block's codes from 2b·p + 4, the second's right after; odd and even block counts.
TEST(PairScales, EachFieldLandsInItsPair) {
  for (const std::size_t block : {std::size_t{18}, std::size_t{34}}) {
    for (const std::size_t blocks : {1, 2, 5, 8}) {
      std::mt19937 rng(static_cast<unsigned>(block * 100 + blocks));
      const std::size_t row_bytes = blocks * block;
      const std::vector<std::uint8_t> row = random_bytes(row_bytes, rng);
      std::vector<std::uint8_t> paired(paired_row_bytes(row_bytes), 0xee);
      pair_scales(row.data(), row_bytes, block, paired.data());
      ASSERT_EQ(paired.size() % 4, 0u);
      ASSERT_EQ(paired.size(), blocks % 2 == 1 ? row_bytes + 2 : row_bytes);
      const std::size_t codes = block - 2;
      for (std::size_t b = 0; b < blocks; ++b) {
        const std::size_t pair = b / 2 * 2 * block, second = b % 2;
        EXPECT_EQ(std::memcmp(&paired[pair + 2 * second], &row[b * block], 2), 0)
            << block << "-byte blocks, block " << b << " scale";
        const std::size_t codes_at = pair + 4 + second * codes;
        EXPECT_EQ(codes_at % 4, 0u);
        EXPECT_EQ(std::memcmp(&paired[codes_at], &row[b * block + 2], codes), 0)
            << block << "-byte blocks, block " << b << " codes";
      }
      if (blocks % 2 == 1) {
        // A last block alone: the high half of its scale dword is zero.
        EXPECT_EQ(paired[(blocks - 1) * block + 2], 0);
        EXPECT_EQ(paired[(blocks - 1) * block + 3], 0);
      }
    }
  }
}

// A copy in the kPairPanels layout (two panels, the second partial) reads back row for row as
// stored, with an odd number of blocks a row and an even one.
TEST(PairScales, RepackedRowsReadBackAsStored) {
  for (const TensorType type : {TensorType::kQ4_0, TensorType::kIQ4_NL, TensorType::kQ8_0}) {
    for (const std::size_t cols : {7 * 32, 8 * 32}) {
      std::mt19937 rng(9);
      const std::size_t rows = 21;
      const std::size_t row_bytes = *tensor::bytes_for(type, cols);
      const std::vector<std::uint8_t> stored = random_bytes(rows * row_bytes, rng);
      const WeightMatrix w{type, stored.data(), rows, cols, row_bytes};
      std::vector<std::uint8_t> copy(repacked_bytes(Repacking::kPairPanels, rows, row_bytes));
      ASSERT_EQ(copy.size(), panels_bytes(rows, row_bytes)) << "as large as plain panels";
      repack(Repacking::kPairPanels, w, 0, repacked_units(Repacking::kPairPanels, rows), copy.data());
      WeightMatrix packed = w;
      packed.repacked = copy.data();
      packed.repacking = Repacking::kPairPanels;
      // Pair p's first word: in half panel h, block 2p's scales of rows 8h..8h+7, then block
      // 2p + 1's (zero past the last block and the last row).
      const std::size_t block = tensor::traits_of(type).block_bytes, blocks = cols / 32;
      for (std::size_t r = 0; r < rows; ++r) {
        const std::uint8_t* panel = copy.data() + r / kPanelRows * panel_stride(row_bytes);
        for (std::size_t b = 0; b < blocks + 1; ++b) {
          const std::uint8_t* scales = panel + b / 2 * (block / 2) * kPanelWordBytes;
          const std::size_t at = 32 * (r % 16 / 8) + 16 * (b % 2) + 2 * (r % 8);
          const std::uint8_t zero[2] = {0, 0};
          const std::uint8_t* want = b < blocks ? stored.data() + r * row_bytes + b * block : zero;
          if (b < blocks || b % 2 == 1) {
            ASSERT_EQ(std::memcmp(scales + at, want, 2), 0)
                << tensor::name_of(type) << " " << cols << " columns, row " << r << ", block " << b;
          }
        }
      }
      std::vector<std::uint8_t> row(row_bytes);
      for (std::size_t r = 0; r < rows; ++r) {
        unpack_repacked_row(packed, r, row.data());
        ASSERT_EQ(std::memcmp(row.data(), stored.data() + r * row_bytes, row_bytes), 0)
            << tensor::name_of(type) << " " << cols << " columns, row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace pensieve::kernels
