// The reordered fifth bits of Q5_0/Q5_1 panels (Repacking::kQ5Panels): each bit lands where the
// header says, blocks come back byte for byte, and a repacked copy's rows read back as stored.
#include "kernels/fifth_bits.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/matmul.hpp"
#include "kernels/repacking.hpp"

namespace pensieve::kernels {
namespace {

using tensor::TensorType;

TEST(FifthBits, EachValuesBitLandsAtItsPlaceAndComesBack) {
  for (unsigned v = 0; v < 32; ++v) {
    const std::uint32_t reordered = reorder_fifth_bits(1u << v);
    // Value v = 4j + k is byte k, bit j.
    EXPECT_EQ(reordered, 1u << (8 * (v % 4) + v / 4)) << "value " << v;
    EXPECT_EQ(restore_fifth_bits(reordered), 1u << v) << "value " << v;
  }
  std::mt19937 rng(3);
  for (int i = 0; i < 1000; ++i) {
    const std::uint32_t qh = static_cast<std::uint32_t>(rng());
    ASSERT_EQ(restore_fifth_bits(reorder_fifth_bits(qh)), qh);
  }
}

// Only the qh dword of each block changes, and restoring gives the stored bytes back.
TEST(FifthBits, RowsChangeOnlyInTheirFifthBits) {
  for (const auto& [type, block, qh_at] : {std::tuple{TensorType::kQ5_0, std::size_t{22}, std::size_t{2}},
                                           std::tuple{TensorType::kQ5_1, std::size_t{24}, std::size_t{4}}}) {
    std::mt19937 rng(5);
    const std::size_t rows = 3, row_bytes = 7 * block;
    std::vector<std::uint8_t> stored(rows * row_bytes);
    for (auto& b : stored) b = static_cast<std::uint8_t>(rng());
    std::vector<std::uint8_t> bytes = stored;
    reorder_fifth_bits_rows(type, bytes.data(), rows, row_bytes);
    for (std::size_t at = 0; at < bytes.size(); ++at) {
      const bool in_qh = at % block >= qh_at && at % block < qh_at + 4;
      if (!in_qh) {
        ASSERT_EQ(bytes[at], stored[at]) << tensor::name_of(type) << " byte " << at;
      }
    }
    std::uint32_t qh, want;
    std::memcpy(&qh, bytes.data() + block + qh_at, 4);
    std::memcpy(&want, stored.data() + block + qh_at, 4);
    EXPECT_EQ(qh, reorder_fifth_bits(want)) << tensor::name_of(type);
    restore_fifth_bits_rows(type, bytes.data(), rows, row_bytes);
    EXPECT_EQ(bytes, stored) << tensor::name_of(type);
  }
}

// A copy in the kQ5Panels layout (two panels, the second partial) reads back row for row as stored.
TEST(FifthBits, RepackedRowsReadBackAsStored) {
  for (const TensorType type : {TensorType::kQ5_0, TensorType::kQ5_1}) {
    std::mt19937 rng(9);
    const std::size_t rows = 21, cols = 7 * 32;
    const std::size_t row_bytes = *tensor::bytes_for(type, cols);
    std::vector<std::uint8_t> stored(rows * row_bytes);
    for (auto& b : stored) b = static_cast<std::uint8_t>(rng());
    const WeightMatrix w{type, stored.data(), rows, cols, row_bytes};
    std::vector<std::uint8_t> copy(repacked_bytes(Repacking::kQ5Panels, rows, row_bytes));
    repack(Repacking::kQ5Panels, w, 0, repacked_units(Repacking::kQ5Panels, rows), copy.data());
    WeightMatrix packed = w;
    packed.repacked = copy.data();
    packed.repacking = Repacking::kQ5Panels;
    std::vector<std::uint8_t> row(row_bytes);
    for (std::size_t r = 0; r < rows; ++r) {
      unpack_repacked_row(packed, r, row.data());
      ASSERT_EQ(std::memcmp(row.data(), stored.data() + r * row_bytes, row_bytes), 0)
          << tensor::name_of(type) << " row " << r;
    }
  }
}

}  // namespace
}  // namespace pensieve::kernels
