#include "kernels/flash_attention.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>

namespace pensieve::kernels {
namespace {

// Query rows per tile: enough that converting a key/value tile from the cache costs little beside
// the products it feeds, few enough that a thread's buffers stay in L2 (256 rows of 128 dims:
// 128 KiB each for the queries and the accumulators, 64 KiB of scores). Against 64 rows, a
// prompt chunk of 256 at 4k–32k of context ran 1.07–1.18× as fast on a Zen 3 (head dims 64 and
// 128); 512 rows gained less (BENCHMARKS.md, fourteenth session).
constexpr std::size_t kTargetRows = 256;
// Split decoding aims at this many tasks per thread, so one slow thread is caught up by others;
// on many cores a prompt chunk's tiles shrink towards it too, down to kMinRows rows
// (query_tile_for).
constexpr std::size_t kTasksPerThread = 4;
constexpr std::size_t kMinRows = 64;
constexpr std::size_t kLineBytes = 64;
constexpr std::size_t kAlignFloats = kLineBytes / sizeof(float);  // a cache line, an AVX-512 register
// Rows that read an f16 cache directly: a decoded token's query heads of one KV head (4 for
// Llama-3.2-1B, measured; up to 8 in the families served, not measured apart).
constexpr std::size_t kDirectRows = 8;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::size_t aligned(std::size_t floats) {
  return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
}
std::size_t ceil_div(std::size_t a, std::size_t b) {
  return (a + b - 1) / b;
}

struct Geometry {
  std::size_t group = 0;       // query heads per key/value head
  std::size_t query_tile = 0;  // tokens per query tile
  std::size_t rows = 0;        // group · query_tile
  std::size_t thread_floats = 0;
  std::size_t max_splits = 0;
  std::size_t partial_floats = 0;  // one (head, split) slot: group maxima, sums and accumulators
};

Geometry geometry_of(const AttentionShape& shape, std::size_t max_queries, unsigned threads) {
  Geometry g;
  g.group = shape.n_head / shape.n_head_kv;
  g.query_tile = std::max<std::size_t>(1, std::min(max_queries, kTargetRows / g.group));
  g.rows = g.group * g.query_tile;
  g.thread_floats = aligned(g.rows * shape.head_dim_k) + aligned(shape.head_dim_k * kKeyTile) +
                    aligned(kKeyTile * shape.head_dim_v) + aligned(g.rows * kKeyTile) +
                    aligned(g.rows * shape.head_dim_v) + 2 * aligned(g.rows);
  g.max_splits = std::max<std::size_t>(1, ceil_div(kTasksPerThread * threads, shape.n_head_kv));
  g.partial_floats = g.group * (shape.head_dim_v + 2);
  return g;
}

std::size_t total_floats(const AttentionShape& shape, const Geometry& g, unsigned threads) {
  const std::size_t partials = g.max_splits > 1 ? shape.n_head_kv * g.max_splits * g.partial_floats : 0;
  return threads * g.thread_floats + aligned(partials);
}

// Tokens per query tile for a chunk of n queries: as many as the scratch holds, unless that left
// fewer than kTasksPerThread tasks a thread (on many cores a short chunk in tall tiles would leave
// threads idle), but not fewer than kMinRows rows' worth where the scratch holds that many. Each
// row's arithmetic is the same in any tile, so the choice changes no bits.
std::size_t query_tile_for(std::size_t n, const AttentionShape& shape, std::size_t scratch_tile,
                           unsigned threads) {
  const std::size_t group = shape.n_head / shape.n_head_kv;
  const std::size_t tiles_per_head = ceil_div(kTasksPerThread * threads, shape.n_head_kv);
  const std::size_t floor = std::max<std::size_t>(1, kMinRows / group);
  return std::min(scratch_tile, std::max(floor, ceil_div(n, tiles_per_head)));
}

// One thread's share of the scratch.
struct ThreadBuffers {
  float* q;    // (rows, head_dim_k) the tile's queries, scaled
  float* kt;   // (head_dim_k, kKeyTile) a key tile, transposed
  float* vt;   // (kKeyTile, head_dim_v) a value tile
  float* s;    // (rows, kKeyTile) scores, then weights
  float* acc;  // (rows, head_dim_v) weighted values
  float* max;  // (rows) running maxima
  float* sum;  // (rows) running sums of weights
};

ThreadBuffers buffers_at(float* base, const AttentionShape& shape, std::size_t rows) {
  ThreadBuffers b{};
  float* p = base;
  auto take = [&p](std::size_t floats) {
    float* start = p;
    p += aligned(floats);
    return start;
  };
  b.q = take(rows * shape.head_dim_k);
  b.kt = take(shape.head_dim_k * kKeyTile);
  b.vt = take(kKeyTile * shape.head_dim_v);
  b.s = take(rows * kKeyTile);
  b.acc = take(rows * shape.head_dim_v);
  b.max = take(rows);
  b.sum = take(rows);
  return b;
}

std::size_t first_visible_key(std::size_t position, std::size_t window) {
  return window != 0 && position >= window ? position - window + 1 : 0;
}

// out = acc / sum for a softmax state whose scores peaked at `max`, with the sink's exp(sink)
// added to the denominator where there is one (rescaled to whichever of the two is larger).
void normalise(float max, float sum, const float* acc, std::size_t dv, const float* sink, float* out) {
  float inverse = 1.0f / sum;
  if (sink != nullptr) {
    const float top = std::max(max, *sink);
    const float kept = std::exp(max - top);
    inverse = kept / (sum * kept + std::exp(*sink - top));
  }
  for (std::size_t d = 0; d < dv; ++d) out[d] = acc[d] * inverse;
}

// Queries [t0, t0 + nt) of key/value head `head` against key tiles [tile_begin, tile_end); leaves
// the unnormalised softmax state (max, sum, acc) for rows t·group + g in `b`.
struct TileTask {
  std::size_t head = 0;
  std::size_t t0 = 0;
  std::size_t nt = 0;
  std::size_t tile_begin = 0;
  std::size_t tile_end = 0;
};

void attend(const AttentionKernels& k, const AttentionShape& shape, const KvLayer& cache,
            const AttentionQueries& queries, std::size_t group, const TileTask& task,
            const ThreadBuffers& b) {
  const std::size_t dk = shape.head_dim_k;
  const std::size_t dv = shape.head_dim_v;
  const std::size_t rows = group * task.nt;
  for (std::size_t t = 0; t < task.nt; ++t) {
    for (std::size_t g = 0; g < group; ++g) {
      const float* src = queries.q + (task.t0 + t) * queries.q_stride + (task.head * group + g) * dk;
      float* dst = b.q + (t * group + g) * dk;
      for (std::size_t d = 0; d < dk; ++d) dst[d] = src[d] * queries.scale;
    }
  }
  std::fill(b.max, b.max + rows, kNegInf);
  std::fill(b.sum, b.sum + rows, 0.0f);
  std::fill(b.acc, b.acc + rows * dv, 0.0f);

  const auto type = static_cast<std::size_t>(cache.type);
  // A few rows (a decoded token's query heads of one KV head) read an f16 cache directly where the
  // variant can: converting each tile first cost as much as their products. Many rows share one
  // conversion. The bits are the same either way (attention_kernels.hpp).
  const bool direct = cache.type == KvType::kF16 && k.scores_f16 != nullptr && rows <= kDirectRows;
  const std::size_t p_first = queries.pos0 + task.t0;
  const std::size_t p_last = p_first + task.nt - 1;
  // Keys in [common_begin, p_first] are visible to every query of the tile.
  const std::size_t common_begin = first_visible_key(p_last, queries.window);
  for (std::size_t tile = task.tile_begin; tile < task.tile_end; ++tile) {
    // The next tile's keys and values, asked for into L1 while this one is worked on. A head's
    // tiles lie in different blocks of the pool (a block holds one tile of every layer and head),
    // so each is a new stream the hardware prefetchers find only after its first misses: a
    // one-query pass over 16k–32k positions spent most of its time waiting for them (BENCHMARKS.md,
    // twenty-sixth session). Written out here: GCC drops a call to a function that only prefetches.
    if (tile + 1 < task.tile_end) {
      const std::uint8_t* next_keys = cache.key_tile(task.head, tile + 1);
      const std::uint8_t* next_values = cache.value_row(task.head, (tile + 1) * kKeyTile);
      for (std::size_t at = 0; at < kKeyTile * cache.k_row_bytes(); at += kLineBytes)
        __builtin_prefetch(next_keys + at, 0, 3);
      for (std::size_t at = 0; at < kKeyTile * cache.v_row_bytes(); at += kLineBytes)
        __builtin_prefetch(next_values + at, 0, 3);
    }
    const std::size_t k0 = tile * kKeyTile;
    const std::size_t n = std::min(kKeyTile, p_last + 1 - k0);  // keys past the last query: never seen

    const std::uint8_t* key_tile = cache.key_tile(task.head, tile);
    const float* kt = b.kt;
    if (direct) {
      k.scores_f16(b.q, rows, dk, key_tile, b.s);
    } else if (cache.type == KvType::kF32) {
      // Already floats in the tile layout; the columns past n score whatever the block holds there
      // (earlier keys, or zeros), and are masked below.
      kt = reinterpret_cast<const float*>(key_tile);
    } else {
      k.load_keys[type](key_tile, n, dk, b.kt);
    }
    if (!direct) k.scores(b.q, rows, dk, kt, b.s);

    const bool all_visible = n == kKeyTile && k0 >= common_begin && k0 + kKeyTile - 1 <= p_first;
    if (!all_visible) {
      for (std::size_t m = 0; m < rows; ++m) {
        const std::size_t position = p_first + m / group;
        const std::size_t first = first_visible_key(position, queries.window);
        float* s = b.s + m * kKeyTile;
        for (std::size_t j = 0; j < kKeyTile; ++j) {
          const std::size_t key = k0 + j;
          if (j >= n || key > position || key < first) s[j] = kNegInf;
        }
      }
    }
    k.softmax_step(b.s, rows, b.max, b.sum, b.acc, dv);

    const std::uint8_t* value_rows = cache.value_row(task.head, k0);
    if (direct) {
      k.accumulate_f16(b.s, rows, n, value_rows, cache.v_row_bytes(), dv, b.acc);
      continue;
    }
    const float* vt = b.vt;
    if (cache.type == KvType::kF32) {
      vt = reinterpret_cast<const float*>(value_rows);
    } else {
      k.load_values[type](value_rows, cache.v_row_bytes(), n, dv, b.vt);
    }
    k.accumulate(b.s, rows, n, vt, dv, b.acc);
  }
}

// Runs job(task, buffers) for every task, each thread on its own buffers.
template <typename Job>
void for_each_task(core::ThreadPool& pool, std::size_t tasks, float* base, std::size_t thread_floats,
                   const AttentionShape& shape, std::size_t rows, Job&& job) {
  std::atomic<std::size_t> next{0};
  pool.run_on_all([&](unsigned thread, unsigned) {
    const ThreadBuffers b = buffers_at(base + thread * thread_floats, shape, rows);
    for (;;) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= tasks) return;
      job(i, b);
    }
  });
}

}  // namespace

AttentionScratch::AttentionScratch(const AttentionShape& shape, std::size_t max_queries, unsigned threads) {
  const Geometry g = geometry_of(shape, max_queries, threads);
  query_tile_ = g.query_tile;
  rows_ = g.rows;
  thread_floats_ = g.thread_floats;
  max_splits_ = g.max_splits;
  threads_ = threads;
  buffer_.resize(total_floats(shape, g, threads) + kAlignFloats);
  const auto address = reinterpret_cast<std::uintptr_t>(buffer_.data());
  base_ = buffer_.data() + ((kLineBytes - address % kLineBytes) % kLineBytes) / sizeof(float);
}

std::size_t AttentionScratch::floats_needed(const AttentionShape& shape, std::size_t max_queries,
                                            unsigned threads) {
  const Geometry g = geometry_of(shape, max_queries, threads);
  return total_floats(shape, g, threads) + kAlignFloats;
}

void flash_attention(const KernelTable& kernels, core::ThreadPool& pool, const AttentionShape& shape,
                     const KvLayer& cache, const AttentionQueries& queries, AttentionScratch& scratch) {
  assert(pool.size() <= scratch.threads_ &&
         scratch.rows_ == (shape.n_head / shape.n_head_kv) * scratch.query_tile_);
  if (queries.n == 0) return;
  const AttentionKernels& k = kernels.attention;
  const std::size_t group = shape.n_head / shape.n_head_kv;
  const std::size_t dv = shape.head_dim_v;
  float* base = scratch.base_;

  if (queries.n == 1) {
    const std::size_t position = queries.pos0;
    const std::size_t tile_begin = first_visible_key(position, queries.window) / kKeyTile;
    const std::size_t tiles = position / kKeyTile + 1 - tile_begin;
    const std::size_t wanted = ceil_div(kTasksPerThread * pool.size(), shape.n_head_kv);
    const std::size_t splits = std::min({scratch.max_splits_, tiles, wanted});
    if (splits > 1) {
      float* partials = base + scratch.threads_ * scratch.thread_floats_;
      const std::size_t slot_floats = group * (dv + 2);
      for_each_task(pool, shape.n_head_kv * splits, base, scratch.thread_floats_, shape, scratch.rows_,
                    [&](std::size_t i, const ThreadBuffers& b) {
                      const std::size_t head = i % shape.n_head_kv;
                      const std::size_t split = i / shape.n_head_kv;
                      const TileTask task{head, 0, 1, tile_begin + split * tiles / splits,
                                          tile_begin + (split + 1) * tiles / splits};
                      attend(k, shape, cache, queries, group, task, b);
                      float* slot = partials + (head * splits + split) * slot_floats;
                      std::copy(b.max, b.max + group, slot);
                      std::copy(b.sum, b.sum + group, slot + group);
                      std::copy(b.acc, b.acc + group * dv, slot + 2 * group);
                    });
      // Merge the splits' states: rescale each to the common maximum, then normalise.
      for (std::size_t head = 0; head < shape.n_head_kv; ++head) {
        for (std::size_t g = 0; g < group; ++g) {
          float common = kNegInf;
          for (std::size_t s = 0; s < splits; ++s) {
            common = std::max(common, partials[(head * splits + s) * slot_floats + g]);
          }
          float* o = queries.out + (head * group + g) * dv;
          std::fill(o, o + dv, 0.0f);
          float total = 0.0f;
          for (std::size_t s = 0; s < splits; ++s) {
            const float* slot = partials + (head * splits + s) * slot_floats;
            if (slot[g] == kNegInf) continue;  // saw no key
            const float factor = std::exp(slot[g] - common);
            total += slot[group + g] * factor;
            const float* acc = slot + 2 * group + g * dv;
            for (std::size_t d = 0; d < dv; ++d) o[d] += acc[d] * factor;
          }
          const float* sink = queries.sinks != nullptr ? queries.sinks + head * group + g : nullptr;
          normalise(common, total, o, dv, sink, o);
        }
      }
      return;
    }
  }

  const std::size_t query_tile = query_tile_for(queries.n, shape, scratch.query_tile_, pool.size());
  const std::size_t n_qtiles = ceil_div(queries.n, query_tile);
  for_each_task(pool, shape.n_head_kv * n_qtiles, base, scratch.thread_floats_, shape, scratch.rows_,
                [&](std::size_t i, const ThreadBuffers& b) {
                  // Latest query tiles first: they see the most keys.
                  const std::size_t qtile = n_qtiles - 1 - i / shape.n_head_kv;
                  TileTask task;
                  task.head = i % shape.n_head_kv;
                  task.t0 = qtile * query_tile;
                  task.nt = std::min(query_tile, queries.n - task.t0);
                  const std::size_t p_first = queries.pos0 + task.t0;
                  task.tile_begin = first_visible_key(p_first, queries.window) / kKeyTile;
                  task.tile_end = (p_first + task.nt - 1) / kKeyTile + 1;
                  attend(k, shape, cache, queries, group, task, b);
                  for (std::size_t t = 0; t < task.nt; ++t) {
                    for (std::size_t g = 0; g < group; ++g) {
                      const std::size_t m = t * group + g;
                      const std::size_t q_head = task.head * group + g;
                      float* o = queries.out + (task.t0 + t) * queries.out_stride + q_head * dv;
                      normalise(b.max[m], b.sum[m], b.acc + m * dv, dv,
                                queries.sinks != nullptr ? queries.sinks + q_head : nullptr, o);
                    }
                  }
                });
}

}  // namespace pensieve::kernels
