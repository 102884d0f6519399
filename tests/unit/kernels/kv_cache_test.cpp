#include "kernels/kv_cache.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tensor/half.hpp"
#include "test_kv_blocks.hpp"

namespace pensieve::kernels {
namespace {

TEST(KvCache, NamesAndRowBytes) {
  for (KvType type : {KvType::kF32, KvType::kF16, KvType::kQ8_0}) {
    auto parsed = parse_kv_type(name_of(type));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, type);
  }
  auto bad = parse_kv_type("q4_0");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("f32, f16 or q8_0"), std::string::npos);
  EXPECT_EQ(kv_row_bytes(KvType::kF32, 128), 512u);
  EXPECT_EQ(kv_row_bytes(KvType::kF16, 128), 256u);
  EXPECT_EQ(kv_row_bytes(KvType::kQ8_0, 128), 4u * 34u);
}

TEST(KvCache, Q8NeedsHeadDimensionsInBlocksOf32) {
  EXPECT_TRUE(check_kv_shape(KvType::kQ8_0, 64, 128).ok());
  EXPECT_TRUE(check_kv_shape(KvType::kF16, 80, 80).ok());
  auto refused = check_kv_shape(KvType::kQ8_0, 80, 80);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(refused.error().message.find("multiples of 32"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("--kv-type"), std::string::npos);
}

// Every position of every head reads back as written: exactly for f32, rounded to the nearest
// half for f16, within half a quantization step for q8_0 — including a last block only partly
// written, its tile as wide as any other.
TEST(KvCache, StoredRowsReadBack) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 2.0f);
  const std::size_t n_ctx = 100, heads = 3, dk = 64, dv = 32;
  for (KvType type : {KvType::kF32, KvType::kF16, KvType::kQ8_0}) {
    testing::TestKvBlocks blocks(type, heads, dk, dv, n_ctx);
    const KvLayer layer = blocks.layer();
    EXPECT_EQ(layer.positions(), 128u);
    std::vector<float> k(n_ctx * heads * dk), v(n_ctx * heads * dv);
    for (auto& x : k) x = dist(rng);
    for (auto& x : v) x = dist(rng);
    store_kv(layer, 0, 70, k.data(), heads * dk, v.data(), heads * dv);
    store_kv(layer, 70, 30, k.data() + 70 * heads * dk, heads * dk, v.data() + 70 * heads * dv, heads * dv);
    std::vector<float> row(dk);
    for (std::size_t p = 0; p < n_ctx; ++p) {
      for (std::size_t h = 0; h < heads; ++h) {
        for (int kind = 0; kind < 2; ++kind) {
          const std::size_t dim = kind == 0 ? dk : dv;
          const float* src = kind == 0 ? k.data() + (p * heads + h) * dk : v.data() + (p * heads + h) * dv;
          if (kind == 0) {
            read_key(layer, h, p, row.data());
          } else {
            read_value(layer, h, p, row.data());
          }
          for (std::size_t b = 0; b < dim; b += 32) {
            float amax = 0.0f;
            for (std::size_t d = b; d < b + 32; ++d) amax = std::max(amax, std::abs(src[d]));
            for (std::size_t d = b; d < b + 32; ++d) {
              const float tolerance = type == KvType::kF32   ? 0.0f
                                      : type == KvType::kF16 ? std::max(std::abs(src[d]) / 2048.0f, 3e-8f)
                                                             : amax / 127.0f * 0.5f * 1.01f;
              ASSERT_LE(std::abs(row[d] - src[d]), tolerance)
                  << name_of(type) << " position " << p << " head " << h << (kind == 0 ? " key " : " value ")
                  << d;
            }
          }
        }
      }
    }
  }
}

// The block layout kv_cache.hpp documents: per layer, each head's whole key tile, then each
// head's value rows; tile t and position p found in block table[t] and table[p / 64].
TEST(KvCache, BlockLayoutPlacesTilesAndRowsAsDocumented) {
  const KvBlockLayout layout{KvType::kF16, 3, 2, 64, 32};
  EXPECT_EQ(layout.key_tile_bytes(), 64u * 128u);
  EXPECT_EQ(layout.layer_bytes(), 2u * 64u * (128u + 64u));
  EXPECT_EQ(layout.bytes(), 3 * layout.layer_bytes());
  std::vector<std::uint8_t> memory(4 * layout.bytes());
  const std::uint32_t table[] = {2, 0, 3};
  const KvLayer layer = layout.layer(1, memory.data(), layout.bytes(), table, 3);
  EXPECT_EQ(layer.positions(), 192u);
  std::uint8_t* block2 = memory.data() + 2 * layout.bytes() + layout.layer_bytes();
  std::uint8_t* block0 = memory.data() + layout.layer_bytes();
  EXPECT_EQ(layer.key_tile(0, 0), block2);
  EXPECT_EQ(layer.key_tile(1, 0), block2 + layout.key_tile_bytes());
  EXPECT_EQ(layer.key_tile(1, 1), block0 + layout.key_tile_bytes());
  EXPECT_EQ(layer.value_row(0, 0), block2 + 2 * layout.key_tile_bytes());
  EXPECT_EQ(layer.value_row(1, 5), block2 + 2 * layout.key_tile_bytes() + (64 + 5) * 64);
  EXPECT_EQ(layer.value_row(0, 64 + 63), block0 + 2 * layout.key_tile_bytes() + 63 * 64);
}

}  // namespace
}  // namespace pensieve::kernels
