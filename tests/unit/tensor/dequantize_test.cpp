// Known-value tests: blocks built by hand, byte by byte, decoded to values computed by hand.
#include "tensor/dequantize.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "tensor/half.hpp"

namespace pensieve::tensor {
namespace {

void put_u16(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint16_t v) {
  bytes[at] = static_cast<std::uint8_t>(v & 0xff);
  bytes[at + 1] = static_cast<std::uint8_t>(v >> 8);
}

// Decodes one block placed at an odd address, so unaligned field access is exercised.
std::vector<float> decode_unaligned(TensorType type, const std::vector<std::uint8_t>& block) {
  const auto& t = traits_of(type);
  EXPECT_EQ(block.size(), t.block_bytes);
  std::vector<std::uint8_t> shifted(block.size() + 1);
  std::memcpy(shifted.data() + 1, block.data(), block.size());
  std::vector<float> out(t.block_size);
  dequantize(type, shifted.data() + 1, out.data(), out.size());
  return out;
}

TEST(Dequantize, SupportedTypes) {
  for (auto type : {TensorType::kF32, TensorType::kF16, TensorType::kBF16, TensorType::kQ8_0, TensorType::kQ4_0}) {
    EXPECT_TRUE(can_dequantize(type)) << name_of(type);
  }
  EXPECT_FALSE(can_dequantize(TensorType::kI64));
}

TEST(Dequantize, FloatTypes) {
  std::vector<std::uint8_t> f32(4);
  const float v = -1.5f;
  std::memcpy(f32.data(), &v, 4);
  EXPECT_EQ(decode_unaligned(TensorType::kF32, f32)[0], -1.5f);

  std::vector<std::uint8_t> f16(2);
  put_u16(f16, 0, 0x3555);  // 1/3 rounded to half: 0x1555/1024 * 2^-2
  EXPECT_EQ(decode_unaligned(TensorType::kF16, f16)[0], 1365.0f / 4096.0f);

  std::vector<std::uint8_t> bf16(2);
  put_u16(bf16, 0, 0xc2f7);  // -(1 + 0x77/128) * 2^6 = -123.5
  EXPECT_EQ(decode_unaligned(TensorType::kBF16, bf16)[0], -123.5f);
}

TEST(Dequantize, Q8_0KnownBlock) {
  std::vector<std::uint8_t> block(34);
  put_u16(block, 0, 0x3400);  // d = 0.25
  for (int j = 0; j < 32; ++j) block[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(4 * j - 64));
  block[2 + 31] = 0x80;  // -128 is representable in the format even though quantizers avoid it
  const auto out = decode_unaligned(TensorType::kQ8_0, block);
  for (int j = 0; j < 31; ++j) EXPECT_EQ(out[j], static_cast<float>(j - 16)) << j;
  EXPECT_EQ(out[31], -32.0f);
}

TEST(Dequantize, Q4_0KnownBlock) {
  std::vector<std::uint8_t> block(18);
  put_u16(block, 0, 0xb800);  // d = -0.5
  // Byte j holds value j in its low nibble and value j + 16 in its high nibble.
  for (int j = 0; j < 16; ++j) block[2 + j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
  const auto out = decode_unaligned(TensorType::kQ4_0, block);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], -0.5f * static_cast<float>(j - 8)) << j;
    EXPECT_EQ(out[j + 16], -0.5f * static_cast<float>(7 - j)) << j;
  }
}

TEST(Dequantize, SeveralBlocksAdvanceBySize) {
  std::vector<std::uint8_t> blocks(3 * 34, 0);
  for (int b = 0; b < 3; ++b) {
    put_u16(blocks, b * 34, fp32_to_fp16(static_cast<float>(b + 1)));
    blocks[b * 34 + 2 + 5] = 3;
  }
  std::vector<float> out(96);
  dequantize(TensorType::kQ8_0, blocks.data(), out.data(), out.size());
  for (int b = 0; b < 3; ++b) {
    EXPECT_EQ(out[b * 32 + 5], 3.0f * static_cast<float>(b + 1));
    EXPECT_EQ(out[b * 32 + 6], 0.0f);
  }
}

TEST(DequantizeDeathTest, PartialBlockAborts) {
  std::vector<std::uint8_t> block(34, 0);
  std::vector<float> out(32);
  EXPECT_DEATH(dequantize(TensorType::kQ8_0, block.data(), out.data(), 31), "partial block");
}

}  // namespace
}  // namespace pensieve::tensor
