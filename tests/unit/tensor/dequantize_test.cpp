// Known-value tests: blocks built by hand, byte by byte, decoded to values computed by hand.
#include "tensor/dequantize.hpp"

#include <gtest/gtest.h>

#include <cmath>
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
  for (auto type :
       {TensorType::kF32, TensorType::kF16, TensorType::kBF16, TensorType::kQ8_0, TensorType::kQ4_0,
        TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K, TensorType::kQ4_1, TensorType::kQ5_0,
        TensorType::kQ5_1, TensorType::kQ8_K, TensorType::kIQ4_NL, TensorType::kQ2_K, TensorType::kQ3_K,
        TensorType::kIQ4_XS, TensorType::kQ8_1, TensorType::kMXFP4}) {
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

TEST(Dequantize, Q4_1KnownBlock) {
  std::vector<std::uint8_t> block(20, 0);
  put_u16(block, 0, 0x4000);  // d = 2
  put_u16(block, 2, 0xbc00);  // m = -1
  block[4 + 3] = 0xc5;        // value 3 = 5, value 19 = 12
  const auto out = decode_unaligned(TensorType::kQ4_1, block);
  EXPECT_EQ(out[3], 2.0f * 5 - 1);
  EXPECT_EQ(out[19], 2.0f * 12 - 1);
  EXPECT_EQ(out[0], -1.0f);
}

TEST(Dequantize, Q5_0KnownBlock) {
  std::vector<std::uint8_t> block(22, 0);
  put_u16(block, 0, 0x3800);  // d = 0.5
  // qh is a little-endian u32: bit j is value j's fifth bit. Set bits 2 and 17 (byte 0 bit 2, byte 2 bit 1).
  block[2] = 0x04;
  block[4] = 0x02;
  block[6 + 2] = 0x03;  // value 2 low nibble 3 (+16 from qh) and value 18 high nibble 0
  block[6 + 1] = 0xf0;  // value 17 = 15 (+16 from qh bit 17)
  const auto out = decode_unaligned(TensorType::kQ5_0, block);
  EXPECT_EQ(out[2], 0.5f * (19 - 16));
  EXPECT_EQ(out[17], 0.5f * (31 - 16));
  EXPECT_EQ(out[18], 0.5f * -16);
  EXPECT_EQ(out[1], 0.5f * -16);
}

TEST(Dequantize, Q5_1KnownBlock) {
  std::vector<std::uint8_t> block(24, 0);
  put_u16(block, 0, 0x3c00);  // d = 1
  put_u16(block, 2, 0x4200);  // m = 3
  block[4 + 3] = 0x80;        // qh bit 31: value 31's fifth bit
  block[8 + 15] = 0x7e;       // value 15 = 14, value 31 = 7 (+16)
  const auto out = decode_unaligned(TensorType::kQ5_1, block);
  EXPECT_EQ(out[15], 14.0f + 3);
  EXPECT_EQ(out[31], 23.0f + 3);
  EXPECT_EQ(out[30], 3.0f);
}

TEST(Dequantize, IQ4_NLKnownBlock) {
  std::vector<std::uint8_t> block(18, 0);
  put_u16(block, 0, 0x3c00);  // d = 1, so values are the grid entries themselves
  for (int j = 0; j < 16; ++j) block[2 + j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
  const auto out = decode_unaligned(TensorType::kIQ4_NL, block);
  const float grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], grid[j]);
    EXPECT_EQ(out[16 + j], grid[15 - j]);
  }
}

// MXFP4: { u8 e; u8 qs[16]; } value = E2M1(nibble) · 2^(e − 127); bit 3 of a nibble is its sign.
TEST(Dequantize, MXFP4KnownBlock) {
  std::vector<std::uint8_t> block(17, 0);
  block[0] = 128;  // scale 2
  for (int j = 0; j < 16; ++j) block[1 + j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
  const auto out = decode_unaligned(TensorType::kMXFP4, block);
  const float e2m1[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], 2 * e2m1[j]) << j;
    EXPECT_EQ(out[16 + j], 2 * e2m1[15 - j]) << j;
  }
  EXPECT_TRUE(std::signbit(out[8])) << "code 8 is -0";
}

// The scale byte spans 2^-127 (a subnormal float; half a step of it is still exact) to 2^127.
// 255, NaN in the OCP format, follows the same rule as the other bytes (2^128), as GGUF readers
// take it: half a step of it is 2^127, six steps overflow.
TEST(Dequantize, MXFP4ScaleExtremes) {
  std::vector<std::uint8_t> block(17, 0);
  block[1] = 0x71;  // value 0: 0.5, value 16: 6
  const std::pair<std::uint8_t, float> half_steps[] = {{0, 0x1p-128f}, {1, 0x1p-127f},  {2, 0x1p-126f},
                                                       {127, 0.5f},    {254, 0x1p126f}, {255, 0x1p127f}};
  for (const auto& [e, half] : half_steps) {
    block[0] = e;
    const auto out = decode_unaligned(TensorType::kMXFP4, block);
    EXPECT_EQ(out[0], half) << "e " << int{e};
    EXPECT_EQ(out[16], 12.0f * half) << "e " << int{e};
  }
}

TEST(Dequantize, Q8_1AndQ8_KKnownBlocks) {
  std::vector<std::uint8_t> q81(36, 0);
  put_u16(q81, 0, 0x3800);  // d = 0.5
  put_u16(q81, 2, 0x7bff);  // s is a cached sum and must not affect the values
  q81[4 + 9] = static_cast<std::uint8_t>(-7);
  const auto a = decode_unaligned(TensorType::kQ8_1, q81);
  EXPECT_EQ(a[9], -3.5f);
  EXPECT_EQ(a[0], 0.0f);

  std::vector<std::uint8_t> q8k(292, 0);
  const float d = 0.1f;  // Q8_K keeps a float32 scale
  std::memcpy(q8k.data(), &d, 4);
  q8k[4 + 255] = 100;
  q8k[4 + 128] = static_cast<std::uint8_t>(-128);
  q8k[290] = 0xff;  // bsums, ignored
  const auto b = decode_unaligned(TensorType::kQ8_K, q8k);
  EXPECT_EQ(b[255], 0.1f * 100);
  EXPECT_EQ(b[128], 0.1f * -128);
  EXPECT_EQ(b[127], 0.0f);
}

TEST(Dequantize, Q4_KKnownBlock) {
  std::vector<std::uint8_t> block(144, 0);
  put_u16(block, 0, 0x3c00);  // d = 1
  put_u16(block, 2, 0x3800);  // dmin = 0.5
  std::uint8_t* scales = block.data() + 4;
  scales[0] = 3;  // group 0: scale 3
  scales[4] = 2;  // group 0: min 2
  // Group 5: scale 37 = 0b10'0101, min 19 = 0b01'0011. Low nibbles share byte 9; the top two bits
  // ride in the top of byte 1 (scale) and byte 5 (min).
  scales[9] = 0x35;
  scales[1] = 0x80;
  scales[5] = 0x40;
  std::uint8_t* qs = block.data() + 16;
  qs[0] = 0x07;   // value 0 (group 0, low nibble) = 7
  qs[64] = 0xa0;  // value 160 (group 5, high nibble of byte 64) = 10; value 128 (group 4) = 0
  const auto out = decode_unaligned(TensorType::kQ4_K, block);
  EXPECT_EQ(out[0], 3.0f * 7 - 0.5f * 2);
  EXPECT_EQ(out[1], -1.0f);  // q = 0 in group 0
  EXPECT_EQ(out[160], 37.0f * 10 - 0.5f * 19);
  EXPECT_EQ(out[161], -0.5f * 19);
  EXPECT_EQ(out[128], 0.0f);  // group 4 has scale 0, min 0
}

TEST(Dequantize, Q5_KKnownBlock) {
  std::vector<std::uint8_t> block(176, 0);
  put_u16(block, 0, 0x3800);  // d = 0.5
  put_u16(block, 2, 0x3c00);  // dmin = 1
  std::uint8_t* scales = block.data() + 4;
  scales[3] = 10;  // group 3: scale 10
  scales[7] = 4;   // group 3: min 4
  std::uint8_t* qh = block.data() + 16;
  std::uint8_t* qs = block.data() + 48;
  // Group 3 is values 96..127: high nibbles of qs[32..63], fifth bit at bit 3 of qh[0..31].
  qs[33] = 0xf0;
  qh[1] = 0x08;
  qh[2] = 0xf7;  // every fifth bit of value 2's position except group 3's
  const auto out = decode_unaligned(TensorType::kQ5_K, block);
  EXPECT_EQ(out[97], 0.5f * 10 * 31 - 4);
  EXPECT_EQ(out[96], -4.0f);
  EXPECT_EQ(out[98], -4.0f);
  EXPECT_EQ(out[2], 0.0f);  // group 0 has scale 0 and min 0, whatever its bits
}

TEST(Dequantize, Q6_KKnownBlock) {
  std::vector<std::uint8_t> block(210, 0);
  std::uint8_t* ql = block.data();
  std::uint8_t* qh = block.data() + 128;
  auto* scales = reinterpret_cast<std::int8_t*>(block.data() + 192);
  put_u16(block, 208, 0x3400);  // d = 0.25
  scales[0] = 1;
  scales[11] = 2;
  scales[15] = -3;  // second half, fourth 32-run, its values 16..31: values 240..255
  // Value 244 = 128 + 96 + 20: low 4 bits from the high nibble of ql[64 + 32 + 20], top 2 bits
  // from bits 6..7 of qh[32 + 20].
  ql[116] = 0x50;
  qh[52] = 0x80;
  const auto out = decode_unaligned(TensorType::kQ6_K, block);
  EXPECT_EQ(out[244], 0.25f * -3 * ((5 | (2 << 4)) - 32));
  EXPECT_EQ(out[240], 0.25f * -3 * -32);  // q = 0 - 32
  EXPECT_EQ(out[0], 0.25f * 1 * -32);
  EXPECT_EQ(out[16], 0.0f);  // scales[1] = 0
  // ql[116]'s low nibble (0) and qh[52]'s bits 2..3 (0) make value 128 + 32 + 20, scale 11.
  EXPECT_EQ(out[180], 0.25f * 2 * -32);
}

TEST(Dequantize, Q2_KKnownBlock) {
  std::vector<std::uint8_t> block(84, 0);
  std::uint8_t* scales = block.data();
  std::uint8_t* qs = block.data() + 16;
  put_u16(block, 80, 0x3c00);  // d = 1
  put_u16(block, 82, 0x3800);  // dmin = 0.5
  scales[0] = 0x12;   // group 0: scale 2, min 1
  scales[13] = 0x35;  // group 13 (second half, third 32-run, values 16..31): scale 5, min 3
  qs[0] = 0x03;       // value 0: q = 3
  qs[52] = 0x20;      // bits 4..5 of qs[32 + 20]: value 128 + 64 + 20 = 212 has q = 2
  const auto out = decode_unaligned(TensorType::kQ2_K, block);
  EXPECT_EQ(out[0], 2.0f * 3 - 0.5f * 1);
  EXPECT_EQ(out[212], 5.0f * 2 - 0.5f * 3);
  EXPECT_EQ(out[213], -0.5f * 3);
  EXPECT_EQ(out[148], 0.0f);  // bits 0..1 of qs[52]: group 9, scale and min 0
}

TEST(Dequantize, Q3_KKnownBlock) {
  std::vector<std::uint8_t> block(110, 0);
  std::uint8_t* hmask = block.data();
  std::uint8_t* qs = block.data() + 32;
  std::uint8_t* packed = block.data() + 96;
  put_u16(block, 108, 0x3800);  // d = 0.5
  // Scale 0 = 0b10'0001 = 33 (effective 1): low nibble of byte 0, top bits 0..1 of byte 8.
  // Scale 8 = 2 (effective -30): high nibble of byte 0, top bits 4..5 of byte 8 (zero).
  packed[0] = 0x21;
  packed[8] = 0x02;
  // Scale 13 = 0b10'1000 = 40 (effective 8): high nibble of byte 5, top bits 6..7 of byte 9.
  packed[5] = 0x80;
  packed[9] = 0x80;
  qs[0] = 0x01;       // value 0: low bits 1
  hmask[0] = 0x01;    // value 0: high bit set, q = 1
  qs[52] = 0x30;      // value 212 = 128 + 64 + 20: low bits 3 (bits 4..5 of qs[32 + 20])
  hmask[20] = 0x40;   // value 212: bit 4 * 1 + 2 set, q = 3
  const auto out = decode_unaligned(TensorType::kQ3_K, block);
  EXPECT_EQ(out[0], 0.5f * 1 * 1);
  EXPECT_EQ(out[128], 0.5f * -30 * -4);  // group 8, low bits 0, high bit clear: q = -4
  EXPECT_EQ(out[212], 0.5f * 8 * 3);
  EXPECT_EQ(out[213], 0.5f * 8 * -4);
  EXPECT_EQ(out[1], 0.5f * 1 * -4);
}

TEST(Dequantize, IQ4_XSKnownBlockAndAgreementWithIQ4_NL) {
  std::vector<std::uint8_t> block(136, 0);
  put_u16(block, 0, 0x3400);  // d = 0.25
  // Group 5 scale 0b10'0100 = 36 (effective 4): high nibble of scales_l[2], bits 10..11 of scales_h.
  put_u16(block, 2, 0x0800);
  block[4 + 2] = 0x40;
  block[8 + 80 + 3] = 0xf0;  // value 160 + 3: grid[0] = -127; value 160 + 19: grid[15] = 113
  const auto out = decode_unaligned(TensorType::kIQ4_XS, block);
  EXPECT_EQ(out[163], 0.25f * 4 * -127);
  EXPECT_EQ(out[179], 0.25f * 4 * 113);
  EXPECT_EQ(out[0], 0.25f * -32 * -127);  // group 0: scale 0 - 32, nibble 0

  // With every group scale 33 (effective 1), each 32-value group decodes as an IQ4_NL block with
  // the same d and nibbles.
  std::vector<std::uint8_t> xs(136, 0), nl(8 * 18, 0);
  put_u16(xs, 0, 0x3a00);  // d = 0.75
  put_u16(xs, 2, 0xaaaa);  // top bits 10 for all eight groups: 0b10 << 4 | 1 = 33
  for (int i = 0; i < 4; ++i) xs[4 + i] = 0x11;
  for (int g = 0; g < 8; ++g) {
    put_u16(nl, 18 * g, 0x3a00);
    for (int j = 0; j < 16; ++j) {
      const auto byte = static_cast<std::uint8_t>(37 * g + 11 * j);
      xs[8 + 16 * g + j] = byte;
      nl[18 * g + 2 + j] = byte;
    }
  }
  std::vector<float> a(256), b(256);
  dequantize(TensorType::kIQ4_XS, xs.data(), a.data(), 256);
  dequantize(TensorType::kIQ4_NL, nl.data(), b.data(), 256);
  EXPECT_EQ(a, b);
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
