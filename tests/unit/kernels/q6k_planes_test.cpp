// The Q6_K planes layout: blocks come back byte for byte, and each plane byte holds the code the
// header says, checked against the reference dequantizer's values.
#include "kernels/q6k_planes.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/matmul.hpp"
#include "tensor/dequantize.hpp"
#include "tensor/type.hpp"

namespace pensieve::kernels {
namespace {

// Random stored blocks: every code bit random, scales of both signs, d = 1/64 (exact products).
std::vector<std::uint8_t> random_blocks(std::size_t n, std::mt19937& rng) {
  std::vector<std::uint8_t> bytes(n * kQ6KBlockBytes);
  for (std::size_t b = 0; b < n; ++b) {
    std::uint8_t* block = bytes.data() + b * kQ6KBlockBytes;
    for (std::size_t i = 0; i < 208; ++i) block[i] = static_cast<std::uint8_t>(rng());
    block[208] = 0x00;
    block[209] = 0x24;  // fp16 2^-6
  }
  return bytes;
}

TEST(Q6KPlanes, BlocksComeBackByteForByte) {
  std::mt19937 rng(7);
  const std::vector<std::uint8_t> blocks = random_blocks(64, rng);
  std::vector<std::uint8_t> planes(kQ6KBlockBytes), back(kQ6KBlockBytes);
  for (std::size_t b = 0; b < 64; ++b) {
    const std::uint8_t* block = blocks.data() + b * kQ6KBlockBytes;
    q6k_block_to_planes(block, planes.data());
    q6k_block_from_planes(planes.data(), back.data());
    ASSERT_EQ(std::memcmp(back.data(), block, kQ6KBlockBytes), 0) << "block " << b;
    EXPECT_EQ(std::memcmp(planes.data() + 192, block + 192, 18), 0) << "scales and d stay where they were";
  }
}

TEST(Q6KPlanes, EachPlaneByteHoldsTheCodeOfItsValue) {
  std::mt19937 rng(11);
  const std::vector<std::uint8_t> block = random_blocks(1, rng);
  std::vector<float> values(256);
  tensor::dequantize(tensor::TensorType::kQ6_K, block.data(), values.data(), 256);
  std::vector<std::uint8_t> p(kQ6KBlockBytes);
  q6k_block_to_planes(block.data(), p.data());
  const auto* scales = reinterpret_cast<const std::int8_t*>(block.data() + 192);
  for (int k = 0; k < 8; ++k) {
    for (int b = 0; b < 32; ++b) {
      // Code vector k, byte b: bits 0..5 of plane k (k < 6), or bits 6..7 of three planes.
      int code = 0;
      if (k < 6) {
        code = p[32 * k + b] & 0x3f;
      } else {
        for (int j = 0; j < 3; ++j) code |= (p[32 * (3 * (k - 6) + j) + b] >> 6) << (2 * j);
      }
      const int value = 32 * (b / 4) + 4 * k + b % 4;
      const float want = static_cast<float>(scales[value / 16] * (code - 32)) / 64.0f;
      ASSERT_EQ(values[value], want) << "vector " << k << " byte " << b << " (value " << value << ")";
    }
  }
}

TEST(Q6KPlanes, RepackingKeepsRowsApartAndLookUpsReadThem) {
  std::mt19937 rng(13);
  const std::size_t rows = 5, cols = 512, row_bytes = 2 * kQ6KBlockBytes;
  const std::vector<std::uint8_t> data = random_blocks(rows * 2, rng);
  const WeightMatrix w{tensor::TensorType::kQ6_K, data.data(), rows, cols, row_bytes};
  std::vector<std::uint8_t> planes(rows * row_bytes, 0xee);
  repack_q6k_planes(w, 1, 4, planes.data());
  for (std::size_t i = 0; i < row_bytes; ++i) {
    ASSERT_EQ(planes[i], 0xee) << "row 0 is not written";
    ASSERT_EQ(planes[4 * row_bytes + i], 0xee) << "row 4 is not written";
  }
  repack_q6k_planes(w, 0, rows, planes.data());
  WeightMatrix packed = w;
  packed.repacked = planes.data();
  packed.repacking = Repacking::kQ6KPlanes;
  packed.data = nullptr;  // must not be read
  std::vector<float> want(cols), got(cols);
  for (std::size_t r = 0; r < rows; ++r) {
    dequantize_row(w, r, want.data());
    dequantize_row(packed, r, got.data());
    ASSERT_EQ(std::memcmp(got.data(), want.data(), cols * sizeof(float)), 0) << "row " << r;
    // A slice from any row keeps the planes.
    const WeightMatrix slice = packed.slice_rows(r, rows - r);
    ASSERT_EQ(slice.repacked, planes.data() + r * row_bytes);
  }
}

}  // namespace
}  // namespace pensieve::kernels
