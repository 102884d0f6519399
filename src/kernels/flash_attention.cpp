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
// Rows that read an f16 or q8_0 cache directly: a decoded token's query heads of one KV head (4 for
// Llama-3.2-1B, measured; up to 8 in the families served, not measured apart).
constexpr std::size_t kDirectRows = 8;
// How far ahead of its reading a decoding task asks for a cache it reads directly: three steps of
// Llama-3.2-1B's 8 KiB of f16 (q8_0 takes the same distance, not measured apart). On a Zen 5 every distance
// from 1 to 10 steps, into L1 or L2, beat asking for nothing by 15–25% and none stood out beyond the noise;
// three lies between (BENCHMARKS.md, twenty-seventh session).
constexpr std::size_t kAheadBytes = std::size_t{24} << 10;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::size_t aligned(std::size_t floats) {
  return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
}
std::size_t ceil_div(std::size_t a, std::size_t b) {
  return (a + b - 1) / b;
}

struct Geometry {
  std::size_t group = 0;        // query heads per key/value head
  std::size_t query_tile = 0;   // tokens per query tile
  std::size_t rows = 0;         // group · query_tile
  std::size_t buffer_rows = 0;  // rows a thread's buffers hold: a query tile's, or every head's
  std::size_t thread_floats = 0;
  std::size_t max_splits = 0;
};

// One (key split, query head) slot of split decoding: the running maximum, the sum, the
// weighted values.
std::size_t partial_floats(const AttentionShape& shape) {
  return shape.head_dim_v + 2;
}

Geometry geometry_of(const AttentionShape& shape, std::size_t max_queries, unsigned threads) {
  Geometry g;
  g.group = shape.n_head / shape.n_head_kv;
  g.query_tile = std::max<std::size_t>(1, std::min(max_queries, kTargetRows / g.group));
  g.rows = g.group * g.query_tile;
  g.buffer_rows = std::max(g.rows, shape.n_head);
  g.thread_floats = aligned(g.buffer_rows * shape.head_dim_k) + aligned(shape.head_dim_k * kKeyTile) +
                    aligned(kKeyTile * shape.head_dim_v) + aligned(g.buffer_rows * kKeyTile) +
                    aligned(g.buffer_rows * shape.head_dim_v) + 2 * aligned(g.buffer_rows);
  g.max_splits = kTasksPerThread * threads;
  return g;
}

std::size_t total_floats(const AttentionShape& shape, const Geometry& g, unsigned threads) {
  const std::size_t partials = g.max_splits > 1 ? g.max_splits * shape.n_head * partial_floats(shape) : 0;
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

// The scores of `rows` query rows (q, dk apart) of key/value head `head` against key tile `tile`,
// of whose kKeyTile keys the first n exist, into s. `direct`: straight from an f16 or q8_0 cache
// (a few rows: a decoded token's query heads of one key/value head), where converting the tile
// first cost as much as the products; many rows share one conversion. The bits are the same either way
// (attention_kernels.hpp).
void tile_scores(const AttentionKernels& k, const KvLayer& cache, bool direct, std::size_t head,
                 std::size_t tile, std::size_t n, const float* q, std::size_t rows, std::size_t dk,
                 float* kt_buffer, float* s, const std::uint8_t* ahead = nullptr) {
  const std::uint8_t* key_tile = cache.key_tile(head, tile);
  if (direct) {
    return (cache.type == KvType::kF16 ? k.scores_f16 : k.scores_q8_0)(q, rows, dk, key_tile, s, ahead);
  }
  const float* kt = kt_buffer;
  if (cache.type == KvType::kF32) {
    // Already floats in the tile layout; the columns past n score whatever the block holds there
    // (earlier keys, or zeros), and are masked afterwards.
    kt = reinterpret_cast<const float*>(key_tile);
  } else {
    k.load_keys[static_cast<std::size_t>(cache.type)](key_tile, n, dk, kt_buffer);
  }
  k.scores(q, rows, dk, kt, s);
}

// acc (rows × dv) += the weights p (rows × kKeyTile) times the first n value rows of head `head`
// from position k0.
void tile_accumulate(const AttentionKernels& k, const KvLayer& cache, bool direct, std::size_t head,
                     std::size_t k0, std::size_t n, const float* p, std::size_t rows, std::size_t dv,
                     float* vt_buffer, float* acc, const std::uint8_t* ahead = nullptr) {
  const std::uint8_t* value_rows = cache.value_row(head, k0);
  if (direct) {
    return (cache.type == KvType::kF16 ? k.accumulate_f16 : k.accumulate_q8_0)(
        p, rows, n, value_rows, cache.v_row_bytes(), dv, acc, ahead);
  }
  const float* vt = vt_buffer;
  if (cache.type == KvType::kF32) {
    vt = reinterpret_cast<const float*>(value_rows);
  } else {
    k.load_values[static_cast<std::size_t>(cache.type)](value_rows, cache.v_row_bytes(), n, dv, vt_buffer);
  }
  k.accumulate(p, rows, n, vt, dv, acc);
}

bool reads_cache_directly(const AttentionKernels& k, const KvLayer& cache, std::size_t rows) {
  if (rows > kDirectRows) return false;
  return (cache.type == KvType::kF16 && k.scores_f16 != nullptr) ||
         (cache.type == KvType::kQ8_0 && k.scores_q8_0 != nullptr);
}

// The softmax state of `rows` rows before any key: no maximum, no sum, no weighted values.
void start_state(const ThreadBuffers& b, std::size_t rows, std::size_t dv) {
  std::fill(b.max, b.max + rows, kNegInf);
  std::fill(b.sum, b.sum + rows, 0.0f);
  std::fill(b.acc, b.acc + rows * dv, 0.0f);
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
  start_state(b, rows, dv);
  const bool direct = reads_cache_directly(k, cache, rows);
  const std::size_t p_first = queries.pos0 + task.t0;
  const std::size_t p_last = p_first + task.nt - 1;
  // Keys in [common_begin, p_first] are visible to every query of the tile.
  const std::size_t common_begin = first_visible_key(p_last, queries.window);
  for (std::size_t tile = task.tile_begin; tile < task.tile_end; ++tile) {
    // The next tile's keys and values, asked for into L1 while this one is worked on. A head's
    // tiles lie in different blocks of the pool (a block holds one tile of every layer and head),
    // so each is a new stream the hardware prefetchers find only after its first misses
    // (BENCHMARKS.md, twenty-sixth session). Written out here: GCC drops a call to a function that
    // only prefetches.
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
    tile_scores(k, cache, direct, task.head, tile, n, b.q, rows, dk, b.kt, b.s);

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
    tile_accumulate(k, cache, direct, task.head, k0, n, b.s, rows, dv, b.vt, b.acc);
  }
}

// A single query (decoding) of key/value heads [h0, h1) against key tiles [tile_begin, tile_end):
// each tile's keys of all those heads, then their values, so the cache is read in the order a
// block lays it out (one layer's keys of every head, then its values). Read head by head, a tile
// is two 8 KiB pieces a block (2 MiB with Llama-3.2-1B) apart from the next; one pass over a block
// read 1.3–1.7× as fast (BENCHMARKS.md, twenty-seventh session). Leaves the unnormalised softmax
// state of query heads [h0·group, h1·group) in `b`, rows in head order. Each row's arithmetic is
// the same as attend's for that head.
void attend_one_query(const AttentionKernels& k, const AttentionShape& shape, const KvLayer& cache,
                      const AttentionQueries& queries, std::size_t h0, std::size_t h1, std::size_t tile_begin,
                      std::size_t tile_end, const ThreadBuffers& b) {
  const std::size_t dk = shape.head_dim_k;
  const std::size_t dv = shape.head_dim_v;
  const std::size_t group = shape.n_head / shape.n_head_kv;
  const std::size_t rows = (h1 - h0) * group;
  const float* q = queries.q + h0 * group * dk;  // the query heads of [h0, h1) lie side by side
  for (std::size_t i = 0; i < rows * dk; ++i) b.q[i] = q[i] * queries.scale;
  start_state(b, rows, dv);
  const bool direct = reads_cache_directly(k, cache, group);
  const std::size_t position = queries.pos0;
  const std::size_t first = first_visible_key(position, queries.window);
  // The cache in the order this task reads it: per tile, the keys of each head (step h − h0), then
  // their values (step h1 − h0 + h − h0), each one call of the kernels; and a step's address.
  const std::size_t steps = 2 * (h1 - h0);
  auto step_at = [&](std::size_t tile, std::size_t step) -> const std::uint8_t* {
    return step < h1 - h0 ? cache.key_tile(h0 + step, tile)
                          : cache.value_row(h0 + step - (h1 - h0), tile * kKeyTile);
  };
  // What a step's kernel asks for as it goes (caches read directly): the step kAheadBytes on,
  // or nothing past the task's last tile.
  const std::size_t ahead_steps = std::max<std::size_t>(1, kAheadBytes / (kKeyTile * cache.k_row_bytes()));
  auto ahead = [&](std::size_t tile, std::size_t step) -> const std::uint8_t* {
    const std::size_t later = (tile - tile_begin) * steps + step + ahead_steps;
    if (later >= (tile_end - tile_begin) * steps) return nullptr;
    return step_at(tile_begin + later / steps, later % steps);
  };
  for (std::size_t tile = tile_begin; tile < tile_end; ++tile) {
    const std::size_t k0 = tile * kKeyTile;
    const std::size_t n = std::min(kKeyTile, position + 1 - k0);
    for (std::size_t h = h0; h < h1; ++h) {
      const std::size_t m = (h - h0) * group;
      tile_scores(k, cache, direct, h, tile, n, b.q + m * dk, group, dk, b.kt, b.s + m * kKeyTile,
                  ahead(tile, h - h0));
    }
    if (n < kKeyTile || k0 < first) {
      for (std::size_t m = 0; m < rows; ++m) {
        float* s = b.s + m * kKeyTile;
        for (std::size_t j = 0; j < kKeyTile; ++j) {
          if (j >= n || k0 + j < first) s[j] = kNegInf;
        }
      }
    }
    k.softmax_step(b.s, rows, b.max, b.sum, b.acc, dv);
    for (std::size_t h = h0; h < h1; ++h) {
      const std::size_t m = (h - h0) * group;
      tile_accumulate(k, cache, direct, h, k0, n, b.s + m * kKeyTile, group, dv, b.vt, b.acc + m * dv,
                      ahead(tile, h1 - h0 + h - h0));
    }
  }
}

// What the tasks of one call use of an AttentionScratch.
struct ScratchView {
  float* base;
  std::size_t thread_floats;
  std::size_t buffer_rows;
  std::size_t max_splits;
  unsigned threads;
  float* partials() const { return base + threads * thread_floats; }
};

// Runs job(task, buffers) for every task, each thread on its own buffers.
template <typename Job>
void for_each_task(core::ThreadPool& pool, std::size_t tasks, const ScratchView& scratch,
                   const AttentionShape& shape, Job&& job) {
  std::atomic<std::size_t> next{0};
  pool.run_on_all([&](unsigned thread, unsigned) {
    const ThreadBuffers b =
        buffers_at(scratch.base + thread * scratch.thread_floats, shape, scratch.buffer_rows);
    for (;;) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= tasks) return;
      job(i, b);
    }
  });
}

// A single query: its keys split into `splits` ranges, and the key/value heads into groups of
// heads_per_task, one task each; the splits' softmax states merged at the end. Long contexts split
// the keys only (each task then reads whole blocks in order); short ones, with too few tiles to
// keep every thread busy, split the heads too.
void decode(const AttentionKernels& k, core::ThreadPool& pool, const AttentionShape& shape,
            const KvLayer& cache, const AttentionQueries& queries, const ScratchView& scratch) {
  const std::size_t group = shape.n_head / shape.n_head_kv;
  const std::size_t dv = shape.head_dim_v;
  const std::size_t position = queries.pos0;
  const std::size_t tile_begin = first_visible_key(position, queries.window) / kKeyTile;
  const std::size_t tiles = position / kKeyTile + 1 - tile_begin;
  const std::size_t wanted = kTasksPerThread * pool.size();
  const std::size_t splits = std::min({scratch.max_splits, tiles, wanted});
  const std::size_t heads_per_task =
      ceil_div(shape.n_head_kv, std::min(shape.n_head_kv, ceil_div(wanted, splits)));
  const std::size_t head_groups = ceil_div(shape.n_head_kv, heads_per_task);
  float* partials = scratch.partials();
  const std::size_t slot_floats = partial_floats(shape);
  for_each_task(pool, splits * head_groups, scratch, shape, [&](std::size_t i, const ThreadBuffers& b) {
    const std::size_t split = i / head_groups;
    const std::size_t h0 = i % head_groups * heads_per_task;
    const std::size_t h1 = std::min(shape.n_head_kv, h0 + heads_per_task);
    attend_one_query(k, shape, cache, queries, h0, h1, tile_begin + split * tiles / splits,
                     tile_begin + (split + 1) * tiles / splits, b);
    for (std::size_t m = 0; m < (h1 - h0) * group; ++m) {
      const std::size_t q_head = h0 * group + m;
      if (splits == 1) {
        normalise(b.max[m], b.sum[m], b.acc + m * dv, dv,
                  queries.sinks != nullptr ? queries.sinks + q_head : nullptr, queries.out + q_head * dv);
        continue;
      }
      float* slot = partials + (split * shape.n_head + q_head) * slot_floats;
      slot[0] = b.max[m];
      slot[1] = b.sum[m];
      std::copy(b.acc + m * dv, b.acc + (m + 1) * dv, slot + 2);
    }
  });
  if (splits == 1) return;
  // Merge the splits' states: rescale each to the common maximum, then normalise.
  for (std::size_t q_head = 0; q_head < shape.n_head; ++q_head) {
    float common = kNegInf;
    for (std::size_t s = 0; s < splits; ++s)
      common = std::max(common, partials[(s * shape.n_head + q_head) * slot_floats]);
    float* o = queries.out + q_head * dv;
    std::fill(o, o + dv, 0.0f);
    float total = 0.0f;
    for (std::size_t s = 0; s < splits; ++s) {
      const float* slot = partials + (s * shape.n_head + q_head) * slot_floats;
      if (slot[0] == kNegInf) continue;  // saw no key
      const float factor = std::exp(slot[0] - common);
      total += slot[1] * factor;
      for (std::size_t d = 0; d < dv; ++d) o[d] += slot[2 + d] * factor;
    }
    normalise(common, total, o, dv, queries.sinks != nullptr ? queries.sinks + q_head : nullptr, o);
  }
}

}  // namespace

AttentionScratch::AttentionScratch(const AttentionShape& shape, std::size_t max_queries, unsigned threads) {
  const Geometry g = geometry_of(shape, max_queries, threads);
  query_tile_ = g.query_tile;
  rows_ = g.rows;
  buffer_rows_ = g.buffer_rows;
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

  const ScratchView view{scratch.base_, scratch.thread_floats_, scratch.buffer_rows_, scratch.max_splits_,
                         scratch.threads_};
  if (queries.n == 1) return decode(k, pool, shape, cache, queries, view);

  const std::size_t query_tile = query_tile_for(queries.n, shape, scratch.query_tile_, pool.size());
  const std::size_t n_qtiles = ceil_div(queries.n, query_tile);
  for_each_task(pool, shape.n_head_kv * n_qtiles, view, shape, [&](std::size_t i, const ThreadBuffers& b) {
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
