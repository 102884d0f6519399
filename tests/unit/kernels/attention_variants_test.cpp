// Each instruction-set variant's attention inner loops against the scalar ones, entry by entry,
// on random inputs with ragged shapes: keys fewer than the tile,
// row counts that are not a multiple of any register block, dimensions that are not a multiple of
// any vector width, masked (-inf) scores and rows that have seen nothing yet.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel_table.hpp"
#include "kernels/kv_cache.hpp"
#include "tensor/half.hpp"
#include "test_kv_blocks.hpp"

namespace pensieve::kernels {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float sigma = 1.0f) {
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  return x;
}

// A key tile of kKeyTile positions in the cache layout, from random floats.
std::vector<std::uint8_t> key_tile(KvType type, std::size_t dim, std::mt19937& rng) {
  // store_kv writes values too: they go to the block's value rows, unused here.
  testing::TestKvBlocks blocks(type, 1, dim, 32, kKeyTile);
  const KvLayer layer = blocks.layer();
  const std::vector<float> k = random_floats(kKeyTile * dim, rng);
  const std::vector<float> v(kKeyTile * 32, 0.0f);
  store_kv(layer, 0, kKeyTile, k.data(), dim, v.data(), 32);
  return {layer.key_tile(0, 0), layer.key_tile(0, 0) + kKeyTile * layer.k_row_bytes()};
}

std::vector<Isa> fast_isas() {
  std::vector<Isa> isas;
  for (Isa isa : supported_isas()) {
    if (isa != Isa::kScalar) isas.push_back(isa);
  }
  return isas;
}

const AttentionKernels& scalar() {
  return kernel_table(Isa::kScalar).attention;
}

TEST(AttentionVariants, EveryVariantHasEveryEntry) {
  for (Isa isa : supported_isas()) {
    const AttentionKernels& k = kernel_table(isa).attention;
    for (std::size_t t = 0; t < kKvTypes; ++t) {
      EXPECT_NE(k.load_keys[t], nullptr);
      EXPECT_NE(k.load_values[t], nullptr);
    }
    EXPECT_NE(k.scores, nullptr);
    EXPECT_NE(k.softmax_step, nullptr);
    EXPECT_NE(k.accumulate, nullptr);
    EXPECT_EQ(k.scores_f16 == nullptr, k.accumulate_f16 == nullptr) << name_of(isa);
    EXPECT_EQ(k.scores_q8_0 == nullptr, k.accumulate_q8_0 == nullptr) << name_of(isa);
  }
  EXPECT_NE(exact_kernels().attention.scores, nullptr);
}

// Reading an f16 or q8_0 cache directly gives the same bits as converting the tile first and then
// taking the products, in the same variant: the driver picks either way by the number of rows.
// Asking for the bytes of a later call (`ahead`) as it goes changes none of them.
void expect_direct_reads_match_converted_tiles(KvType type, std::initializer_list<std::size_t> dims) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  const auto t = static_cast<std::size_t>(type);
  std::size_t checked = 0;
  for (Isa isa : fast_isas()) {
    const AttentionKernels& k = kernel_table(isa).attention;
    const ScoresInPlaceFn scores_direct = type == KvType::kF16 ? k.scores_f16 : k.scores_q8_0;
    const AccumulateInPlaceFn accumulate_direct = type == KvType::kF16 ? k.accumulate_f16 : k.accumulate_q8_0;
    if (scores_direct == nullptr) continue;
    ++checked;
    for (std::size_t dim : dims) {
      const auto tile = key_tile(type, dim, rng);
      const auto later_tile = key_tile(type, dim, rng);
      for (std::size_t rows : {1, 3, 4, 7, 8}) {
        const auto q = random_floats(rows * dim, rng);
        for (std::size_t n : {std::size_t{1}, std::size_t{29}, kKeyTile}) {
          std::vector<float> kt(dim * kKeyTile), want(rows * kKeyTile), got(rows * kKeyTile);
          k.load_keys[t](tile.data(), n, dim, kt.data());
          k.scores(q.data(), rows, dim, kt.data(), want.data());
          for (const std::uint8_t* ahead : {static_cast<const std::uint8_t*>(nullptr), later_tile.data()}) {
            std::fill(got.begin(), got.end(), 0.0f);
            scores_direct(q.data(), rows, dim, tile.data(), got.data(), ahead);
            for (std::size_t m = 0; m < rows; ++m) {
              ASSERT_EQ(0,
                        std::memcmp(want.data() + m * kKeyTile, got.data() + m * kKeyTile, n * sizeof(float)))
                  << name_of(isa) << " " << (type == KvType::kF16 ? "f16" : "q8_0") << " scores dim " << dim
                  << " rows " << rows << " n " << n << " row " << m
                  << (ahead != nullptr ? " asking ahead" : "");
            }
          }
        }
      }
      // Value rows with a row stride, as in the cache.
      testing::TestKvBlocks blocks(type, 1, 32, dim, kKeyTile);
      const KvLayer layer = blocks.layer();
      const auto kf = random_floats(kKeyTile * 32, rng);
      const auto vf = random_floats(kKeyTile * dim, rng, 3.0f);
      store_kv(layer, 0, kKeyTile, kf.data(), 32, vf.data(), dim);
      const std::uint8_t* v_rows = layer.value_row(0, 0);
      const std::vector<std::uint8_t> later_rows(kKeyTile * layer.v_row_bytes());
      for (std::size_t rows : {1, 4, 6, 8}) {
        for (std::size_t n : {std::size_t{1}, std::size_t{29}, kKeyTile}) {
          std::vector<float> p(rows * kKeyTile), v(kKeyTile * dim);
          for (auto& x : p) x = unit(rng);
          const auto acc = random_floats(rows * dim, rng);
          auto want = acc;
          k.load_values[t](v_rows, layer.v_row_bytes(), n, dim, v.data());
          k.accumulate(p.data(), rows, n, v.data(), dim, want.data());
          for (const std::uint8_t* ahead : {static_cast<const std::uint8_t*>(nullptr), later_rows.data()}) {
            auto got = acc;
            accumulate_direct(p.data(), rows, n, v_rows, layer.v_row_bytes(), dim, got.data(), ahead);
            ASSERT_EQ(want, got) << name_of(isa) << " " << (type == KvType::kF16 ? "f16" : "q8_0")
                                 << " accumulate dim " << dim << " rows " << rows << " n " << n
                                 << (ahead != nullptr ? " asking ahead" : "");
          }
        }
      }
    }
  }
  if (checked == 0)
    GTEST_SKIP() << "no variant on this CPU reads " << (type == KvType::kF16 ? "f16" : "q8_0")
                 << " caches directly";
}

TEST(AttentionVariants, DirectF16ReadsMatchConvertedTilesExactly) {
  expect_direct_reads_match_converted_tiles(KvType::kF16, {40, 64, 128});
}

// q8_0 rows are whole 32-value blocks; 96 leaves a tail of 32 past the last 64.
TEST(AttentionVariants, DirectQ8ReadsMatchConvertedTilesExactly) {
  expect_direct_reads_match_converted_tiles(KvType::kQ8_0, {32, 64, 96, 128});
}

// Conversions are exact (one widening or one multiply per value), so bit-equal to scalar.
TEST(AttentionVariants, KeyAndValueLoadsMatchScalarExactly) {
  std::mt19937 rng(1);
  for (Isa isa : fast_isas()) {
    const AttentionKernels& k = kernel_table(isa).attention;
    for (KvType type : {KvType::kF32, KvType::kF16, KvType::kQ8_0}) {
      const auto t = static_cast<std::size_t>(type);
      for (std::size_t dim : {32, 64, 128}) {
        const auto tile = key_tile(type, dim, rng);
        for (std::size_t n : {64, 37, 33, 5, 1}) {
          std::vector<float> want(dim * kKeyTile, NAN), got(dim * kKeyTile, NAN);
          scalar().load_keys[t](tile.data(), n, dim, want.data());
          k.load_keys[t](tile.data(), n, dim, got.data());
          ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
              << name_of(isa) << " " << name_of(type) << " keys dim " << dim << " n " << n;
        }
        // Value rows: a few positions of a cache with a row stride.
        const std::size_t rows = 45;
        testing::TestKvBlocks blocks(type, 1, 32, dim, rows);
        const KvLayer layer = blocks.layer();
        const auto kf = random_floats(rows * 32, rng);
        const auto vf = random_floats(rows * dim, rng, 3.0f);
        store_kv(layer, 0, rows, kf.data(), 32, vf.data(), dim);
        const std::uint8_t* v_rows = layer.value_row(0, 0);
        for (std::size_t n : {std::size_t{1}, std::size_t{17}, rows}) {
          std::vector<float> want(rows * dim, NAN), got(rows * dim, NAN);
          scalar().load_values[t](v_rows, layer.v_row_bytes(), n, dim, want.data());
          k.load_values[t](v_rows, layer.v_row_bytes(), n, dim, got.data());
          ASSERT_EQ(0, std::memcmp(want.data(), got.data(), n * dim * sizeof(float)))
              << name_of(isa) << " " << name_of(type) << " values dim " << dim << " n " << n;
        }
      }
    }
  }
  // Dimensions that are not a multiple of 16 (f32/f16 caches only).
  for (Isa isa : fast_isas()) {
    for (KvType type : {KvType::kF32, KvType::kF16}) {
      const auto t = static_cast<std::size_t>(type);
      const std::size_t dim = 40;
      const auto tile = key_tile(type, dim, rng);
      std::vector<float> want(dim * kKeyTile), got(dim * kKeyTile);
      scalar().load_keys[t](tile.data(), 50, dim, want.data());
      kernel_table(isa).attention.load_keys[t](tile.data(), 50, dim, got.data());
      EXPECT_EQ(want, got) << name_of(isa) << " " << name_of(type);
    }
  }
}

TEST(AttentionVariants, ScoresMatchScalarWithinRounding) {
  std::mt19937 rng(2);
  for (Isa isa : fast_isas()) {
    for (std::size_t dim : {40, 64, 96, 128}) {
      for (std::size_t rows : {1, 2, 3, 4, 5, 7, 8, 13, 64}) {
        const auto q = random_floats(rows * dim, rng);
        const auto kt = random_floats(dim * kKeyTile, rng);
        std::vector<float> want(rows * kKeyTile), got(rows * kKeyTile);
        scalar().scores(q.data(), rows, dim, kt.data(), want.data());
        kernel_table(isa).attention.scores(q.data(), rows, dim, kt.data(), got.data());
        for (std::size_t i = 0; i < want.size(); ++i) {
          // Bound by the sum of |products|: about sqrt(dim) for N(0,1) inputs.
          ASSERT_NEAR(got[i], want[i], 1e-5 * dim)
              << name_of(isa) << " dim " << dim << " rows " << rows << " at " << i;
        }
      }
    }
  }
}

TEST(AttentionVariants, SoftmaxStepMatchesScalar) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (Isa isa : fast_isas()) {
    for (std::size_t dim_v : {40, 64, 128}) {
      const std::size_t rows = 11;
      auto s = random_floats(rows * kKeyTile, rng, 4.0f);
      // Masked keys, a row with every key masked, and scores far below the maximum.
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (unit(rng) < 0.2f) s[i] = kNegInf;
      }
      std::fill(s.begin() + 2 * kKeyTile, s.begin() + 3 * kKeyTile, kNegInf);
      s[5 * kKeyTile + 3] = 150.0f;
      // Running state: fresh rows (-inf), rows whose maximum stays, rows whose maximum grows.
      std::vector<float> max(rows), sum(rows);
      for (std::size_t m = 0; m < rows; ++m) {
        max[m] = m % 3 == 0 ? kNegInf : (m % 3 == 1 ? 20.0f : -1.0f);
        sum[m] = max[m] == kNegInf ? 0.0f : 1.0f + unit(rng);
      }
      const auto acc = random_floats(rows * dim_v, rng);
      auto s1 = s, s2 = s, max1 = max, max2 = max, sum1 = sum, sum2 = sum, acc1 = acc, acc2 = acc;
      scalar().softmax_step(s1.data(), rows, max1.data(), sum1.data(), acc1.data(), dim_v);
      kernel_table(isa).attention.softmax_step(s2.data(), rows, max2.data(), sum2.data(), acc2.data(), dim_v);
      for (std::size_t m = 0; m < rows; ++m) {
        SCOPED_TRACE(std::string(name_of(isa)) + " row " + std::to_string(m));
        EXPECT_EQ(max1[m], max2[m]);
        EXPECT_NEAR(sum2[m], sum1[m], 1e-6 * std::max(1.0f, sum1[m]));
        for (std::size_t j = 0; j < kKeyTile; ++j) {
          ASSERT_TRUE(std::isfinite(s2[m * kKeyTile + j]));
          ASSERT_NEAR(s2[m * kKeyTile + j], s1[m * kKeyTile + j], 1e-6f) << "weight " << j;
        }
        for (std::size_t d = 0; d < dim_v; ++d) {
          ASSERT_NEAR(acc2[m * dim_v + d], acc1[m * dim_v + d], 1e-6f) << "accumulator " << d;
        }
      }
    }
  }
}

TEST(AttentionVariants, AccumulateMatchesScalarWithinRounding) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (Isa isa : fast_isas()) {
    for (std::size_t dim_v : {40, 64, 96, 128}) {
      for (std::size_t rows : {1, 3, 4, 6, 64}) {
        for (std::size_t n : {std::size_t{1}, std::size_t{29}, kKeyTile}) {
          std::vector<float> p(rows * kKeyTile);
          for (auto& x : p) x = unit(rng);
          const auto v = random_floats(kKeyTile * dim_v, rng);
          const auto acc = random_floats(rows * dim_v, rng);
          auto want = acc, got = acc;
          scalar().accumulate(p.data(), rows, n, v.data(), dim_v, want.data());
          kernel_table(isa).attention.accumulate(p.data(), rows, n, v.data(), dim_v, got.data());
          for (std::size_t i = 0; i < want.size(); ++i) {
            ASSERT_NEAR(got[i], want[i], 2e-6 * (1.0 + static_cast<double>(n)))
                << name_of(isa) << " dim " << dim_v << " rows " << rows << " n " << n << " at " << i;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace pensieve::kernels
