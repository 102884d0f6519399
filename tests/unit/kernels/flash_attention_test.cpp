// Tiled attention over every KV cache type and every instruction-set variant against the one-query
// reference (kernels::attention) on the very numbers the cache holds, reached through a block table
// (test_kv_blocks.hpp): ragged lengths and context sizes, GQA groups of 1/2/4/8, head dims 64/128 (and 96,
// not a multiple of 64), sliding windows, single-query decoding with split keys, and 1–3 threads.
#include "kernels/flash_attention.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/kv_cache.hpp"
#include "test_kv_blocks.hpp"

namespace pensieve::kernels {
namespace {

struct Case {
  std::size_t n_head_kv, group, dk, dv;
  KvType type;
  std::size_t n_ctx, pos0, n;
  std::size_t window = 0;
  unsigned threads = 2;
  std::size_t max_queries = 64;
  bool sinks = false;
};

std::string describe(const Case& c) {
  return std::string(name_of(c.type)) + " kv_heads " + std::to_string(c.n_head_kv) + " group " +
         std::to_string(c.group) + " dims " + std::to_string(c.dk) + "/" + std::to_string(c.dv) + " ctx " +
         std::to_string(c.n_ctx) + " pos0 " + std::to_string(c.pos0) + " n " + std::to_string(c.n) +
         " window " + std::to_string(c.window) + " threads " + std::to_string(c.threads) +
         (c.sinks ? " sinks" : "");
}

// Fills a cache with random keys and values for positions [0, pos0 + n) and checks every variant's
// tiled attention of the queries at pos0 … pos0 + n − 1 against the reference.
void check(const Case& c, std::mt19937& rng) {
  SCOPED_TRACE(describe(c));
  const AttentionShape shape{c.n_head_kv * c.group, c.n_head_kv, c.dk, c.dv};
  const std::size_t k_dim = c.n_head_kv * c.dk, v_dim = c.n_head_kv * c.dv;
  const std::size_t total = c.pos0 + c.n;
  std::normal_distribution<float> dist(0.0f, 1.0f);

  testing::TestKvBlocks blocks(c.type, c.n_head_kv, c.dk, c.dv, c.n_ctx);
  const KvLayer layer = blocks.layer();
  std::vector<float> k(total * k_dim), v(total * v_dim);
  for (auto& x : k) x = dist(rng);
  for (auto& x : v) x = dist(rng);
  // Written in two calls, as a prompt chunk then its continuation would be.
  const std::size_t first_part = total / 3;
  store_kv(layer, 0, first_part, k.data(), k_dim, v.data(), v_dim);
  store_kv(layer, first_part, total - first_part, k.data() + first_part * k_dim, k_dim,
           v.data() + first_part * v_dim, v_dim);

  // What the cache holds, position-major, for the reference.
  std::vector<float> keys(total * k_dim), values(total * v_dim);
  for (std::size_t p = 0; p < total; ++p) {
    for (std::size_t h = 0; h < c.n_head_kv; ++h) {
      read_key(layer, h, p, keys.data() + p * k_dim + h * c.dk);
      read_value(layer, h, p, values.data() + p * v_dim + h * c.dv);
    }
  }
  std::vector<float> q(c.n * shape.n_head * c.dk);
  for (auto& x : q) x = dist(rng);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.dk));
  // Sinks around the scores' size, so that they take a real share of each softmax.
  std::vector<float> sinks(shape.n_head);
  for (auto& x : sinks) x = 2.0f * dist(rng);
  const float* sink_logits = c.sinks ? sinks.data() : nullptr;

  std::vector<float> expected(c.n * shape.n_head * c.dv), scores(total);
  for (std::size_t t = 0; t < c.n; ++t) {
    const std::size_t position = c.pos0 + t;
    const std::size_t first = c.window != 0 && position >= c.window ? position - c.window + 1 : 0;
    attention(q.data() + t * shape.n_head * c.dk, keys.data(), values.data(), first, position + 1 - first,
              shape, scale, expected.data() + t * shape.n_head * c.dv, scores.data(), sink_logits);
  }

  core::ThreadPool pool(c.threads);
  AttentionScratch scratch(shape, c.max_queries, c.threads);
  for (Isa isa : supported_isas()) {
    SCOPED_TRACE(std::string(name_of(isa)));
    std::vector<float> out(expected.size(), NAN);
    AttentionQueries queries{q.data(),   shape.n_head * c.dk, c.n, c.pos0, c.window, scale, sink_logits,
                             out.data(), shape.n_head * c.dv};
    flash_attention(kernel_table(isa), pool, shape, layer, queries, scratch);
    double max_error = 0.0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      ASSERT_TRUE(std::isfinite(out[i])) << "output " << i;
      max_error = std::max(max_error, std::abs(static_cast<double>(out[i]) - expected[i]));
    }
    // Outputs are convex combinations of N(0,1) values: float rounding stays far below this.
    EXPECT_LT(max_error, 2e-5);
  }
}

TEST(FlashAttention, MatchesReferenceForEveryKvTypeAndGroup) {
  std::mt19937 rng(7);
  for (KvType type : {KvType::kF32, KvType::kF16, KvType::kQ8_0}) {
    for (std::size_t group : {1, 2, 4, 8}) {
      for (std::size_t dim : {64, 128}) {
        // A prompt chunk ending in a partial tile of a ragged context.
        check({2, group, dim, dim, type, 301, 70, 93}, rng);
        // A chunk from position 0, shorter than a tile.
        check({2, group, dim, dim, type, 50, 0, 13}, rng);
      }
    }
  }
}

TEST(FlashAttention, SingleQueryDecodingSplitsKeysAcrossThreads) {
  std::mt19937 rng(11);
  for (KvType type : {KvType::kF32, KvType::kF16, KvType::kQ8_0}) {
    for (unsigned threads : {1u, 2u, 3u}) {
      // One key/value head: up to 4·threads splits of the 1000 keys.
      check({1, 4, 64, 64, type, 1500, 999, 1, 0, threads}, rng);
      // Eight heads, a context ending mid-tile, a position on a tile boundary.
      check({8, 4, 64, 64, type, 1030, 1024, 1, 0, threads}, rng);
      check({2, 8, 128, 128, type, 200, 0, 1, 0, threads}, rng);
      // Three tiles: too few to keep the threads busy, so the heads go in groups too (of 4, 3 with
      // a short last group, and 2 heads for 1, 2 and 3 threads).
      check({8, 4, 64, 64, type, 200, 150, 1, 0, threads}, rng);
      // A scratch planned for one query: its buffers still hold every head's rows.
      check({8, 4, 64, 64, type, 1030, 1024, 1, 0, threads, 1}, rng);
      // Head dims that are no multiple of 64.
      check({2, 8, 96, 96, type, 700, 650, 1, 0, threads}, rng);
    }
  }
}

TEST(FlashAttention, SlidingWindowHidesEarlierKeys) {
  std::mt19937 rng(13);
  for (KvType type : {KvType::kF32, KvType::kF16, KvType::kQ8_0}) {
    check({2, 2, 64, 64, type, 400, 200, 70, 50}, rng);  // window shorter than a tile
    check({2, 2, 64, 64, type, 400, 300, 1, 130}, rng);  // decoding, window over three tiles
    check({1, 4, 64, 64, type, 800, 10, 64, 100}, rng);  // window not yet full
  }
}

// gpt-oss's sinks: in prompt chunks, in split decoding, with a sliding window.
TEST(FlashAttention, SinksJoinEverySoftmaxsDenominator) {
  std::mt19937 rng(19);
  for (KvType type : {KvType::kF32, KvType::kF16, KvType::kQ8_0}) {
    Case chunk{2, 4, 64, 64, type, 301, 70, 93};
    chunk.sinks = true;
    check(chunk, rng);
    Case decode{1, 4, 64, 64, type, 1500, 999, 1, 0, 3};
    decode.sinks = true;
    check(decode, rng);
    Case windowed{2, 2, 64, 64, type, 400, 200, 70, 50};
    windowed.sinks = true;
    check(windowed, rng);
  }
}

TEST(FlashAttention, ChunksLongerThanPlannedAndUnevenDimensions) {
  std::mt19937 rng(17);
  // More queries than the scratch was planned for are taken a tile at a time.
  check({2, 4, 64, 64, KvType::kF16, 300, 40, 150, 0, 2, 16}, rng);
  // Dimensions that are not a multiple of the SIMD width (f32/f16 only: q8_0 needs 32s), and
  // different key and value widths.
  check({2, 3, 96, 96, KvType::kF32, 130, 20, 40}, rng);
  check({1, 2, 40, 72, KvType::kF16, 90, 0, 90}, rng);
  check({2, 2, 64, 128, KvType::kQ8_0, 150, 60, 33}, rng);
}

// A chunk's query tiles are as tall as the scratch allows, shorter on many threads so that each
// gets a few: each row's result must not depend on the tile it shares, nor on the thread count.
TEST(FlashAttention, SameBitsWhateverTheTileHeightAndThreads) {
  std::mt19937 rng(23);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const std::size_t n_head_kv = 2, group = 4, dim = 64, pos0 = 200, n = 300, total = pos0 + n;
  const AttentionShape shape{n_head_kv * group, n_head_kv, dim, dim};
  testing::TestKvBlocks blocks(KvType::kF16, n_head_kv, dim, dim, total);
  const KvLayer layer = blocks.layer();
  std::vector<float> k(total * n_head_kv * dim), v(k.size()), q(n * shape.n_head * dim);
  for (auto* values : {&k, &v, &q}) {
    for (auto& x : *values) x = dist(rng);
  }
  store_kv(layer, 0, total, k.data(), n_head_kv * dim, v.data(), n_head_kv * dim);
  for (Isa isa : supported_isas()) {
    SCOPED_TRACE(std::string(name_of(isa)));
    std::vector<float> first;
    // (threads, queries the scratch is planned for): tiles of 64 tokens (the most for a group of
    // 4), 19 (8 threads want 16 tiles a head), and 16 (a scratch planned for 16 queries).
    for (auto [threads, planned] : {std::pair{1u, n}, std::pair{8u, n}, std::pair{2u, std::size_t{16}}}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + " planned " + std::to_string(planned));
      core::ThreadPool pool(threads);
      AttentionScratch scratch(shape, planned, threads);
      std::vector<float> out(n * shape.n_head * dim, NAN);
      const AttentionQueries queries{q.data(),   shape.n_head * dim, n, pos0, 0, 0.125f, nullptr,
                                     out.data(), shape.n_head * dim};
      flash_attention(kernel_table(isa), pool, shape, layer, queries, scratch);
      if (first.empty()) {
        first = out;
        continue;
      }
      for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], first[i]) << "output " << i;
    }
  }
}

}  // namespace
}  // namespace pensieve::kernels
