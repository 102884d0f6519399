// kernels/avx512/float: F32, F16 and BF16 weights against float activations. Here the lanes run
// over 16 columns: there is no per-group scale to apply, so each (row, token) pair keeps its own
// 16-lane sum, one FMA per 16 columns, and is reduced once at the end. A tile of rows × tokens
// shares each converted weight vector among its tokens and each activation vector among its rows.
//
// Every pair's float operations are the same whatever tile it is in: acc = fma(w, x, acc) over
// the columns in order, 16 at a time (a ragged end masked to zero), then sum_lanes(acc).
#include "kernels/avx512/common.hpp"
#include "kernels/avx512/entries.hpp"
#include "kernels/next_rows_prefetch.hpp"

namespace pensieve::kernels::avx512 {
namespace {

using tensor::TensorType;

constexpr std::size_t kTileRows = 4;
constexpr std::size_t kTileTokens = 6;
constexpr std::size_t kBlockTokens = 4 * kTileTokens;  // tokens whose activations stay in cache
constexpr std::size_t kDecodeRows = 8;

// 16 weights from column c of a row, as floats; `mask` selects the columns that exist.
template <TensorType kType>
inline __m512 load_weights(const std::uint8_t* row, std::size_t c, __mmask16 mask) {
  if constexpr (kType == TensorType::kF32) {
    return _mm512_maskz_loadu_ps(mask, row + 4 * c);
  } else {
    const __m256i h = _mm256_maskz_loadu_epi16(mask, row + 2 * c);
    if constexpr (kType == TensorType::kF16) return _mm512_cvtph_ps(h);
    // BF16 is the top half of an f32.
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

template <TensorType kType, std::size_t kR, std::size_t kT>
void float_tile(const WeightMatrix& w, std::size_t r0, const Activations& x, std::size_t t0, float* out,
                std::size_t out_stride) {
  const std::uint8_t* rows[kR];
  const float* xs[kT];
#pragma GCC unroll 8
  for (std::size_t r = 0; r < kR; ++r) rows[r] = w.data + (r0 + r) * w.row_bytes;
#pragma GCC unroll 8
  for (std::size_t t = 0; t < kT; ++t) xs[t] = reinterpret_cast<const float*>(x.data + (t0 + t) * x.stride);
  __m512 acc[kR][kT];
#pragma GCC unroll 8
  for (std::size_t r = 0; r < kR; ++r) {
#pragma GCC unroll 8
    for (std::size_t t = 0; t < kT; ++t) acc[r][t] = _mm512_setzero_ps();
  }
  NextRowsPrefetch prefetch(rows[0], kR * w.row_bytes, (w.cols + 15) / 16);  // decode tiles only
  for (std::size_t c = 0; c < w.cols; c += 16) {
    const __mmask16 mask =
        w.cols - c >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (w.cols - c)) - 1);
    if constexpr (kT == 1 && kR == kDecodeRows) prefetch.step();
    __m512 wv[kR];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < kR; ++r) wv[r] = load_weights<kType>(rows[r], c, mask);
#pragma GCC unroll 8
    for (std::size_t t = 0; t < kT; ++t) {
      const __m512 xv = _mm512_maskz_loadu_ps(mask, xs[t] + c);
#pragma GCC unroll 8
      for (std::size_t r = 0; r < kR; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
  // (Fully unrolled, as every loop over acc, so that it stays in registers.)
#pragma GCC unroll 8
  for (std::size_t r = 0; r < kR; ++r) {
#pragma GCC unroll 8
    for (std::size_t t = 0; t < kT; ++t) out[(t0 + t) * out_stride + r0 + r] = sum_lanes(acc[r][t]);
  }
}

// kR rows against tokens [t0, t0 + n), n ≤ kTileTokens.
template <TensorType kType, std::size_t kR>
void float_tile_n(std::size_t n, const WeightMatrix& w, std::size_t r0, const Activations& x, std::size_t t0,
                  float* out, std::size_t out_stride) {
  static_assert(kTileTokens == 6);
  switch (n) {
    case 1:
      return float_tile<kType, kR, 1>(w, r0, x, t0, out, out_stride);
    case 2:
      return float_tile<kType, kR, 2>(w, r0, x, t0, out, out_stride);
    case 3:
      return float_tile<kType, kR, 3>(w, r0, x, t0, out, out_stride);
    case 4:
      return float_tile<kType, kR, 4>(w, r0, x, t0, out, out_stride);
    case 5:
      return float_tile<kType, kR, 5>(w, r0, x, t0, out, out_stride);
    default:
      return float_tile<kType, kR, 6>(w, r0, x, t0, out, out_stride);
  }
}

// Prefill: converting a weight vector costs as much FMA-port time as a third of a 4×6 tile's FMAs,
// and the tiles above convert each one again for every 6 tokens. So a panel of rows (up to
// kBlockCols columns of them, kPanelBytes in all, kept in L2) is converted to f32 once, and
// FMA-only tiles run the tokens against it. A tile's activations are taken kChunkCols columns at a
// time into one contiguous pack that stays in L1 while every row tile of the panel passes over it
// (rows of activations lie a multiple of 4 KiB apart, so read in place they would all compete for
// the same L1 sets). A tile's accumulators are kept in memory between chunks and column blocks,
// which leaves each pair's float sequence as it is.
constexpr std::size_t kPanelTileRows = 4;
constexpr std::size_t kPanelTileTokens = 6;
constexpr std::size_t kChunkCols = 512;
constexpr std::size_t kPanelBytes = std::size_t{1024} << 10;
constexpr std::size_t kBlockCols = 2048;  // a multiple of kChunkCols
constexpr std::size_t kTokenBlock = 16 * kPanelTileTokens;
constexpr unsigned kScratchSlot = 2;

// The converted panel: columns [c_begin, c_end) of each tile of kPanelTileRows rows (tile_floats
// apart), for each 16 columns one vector per row (a tile's weights are one contiguous stream).
// Columns past the end of the row are zero, as the masked loads of the direct tiles give.
template <TensorType kType>
void convert_panel(const WeightMatrix& w, std::size_t r0, std::size_t tiles, std::size_t c_begin,
                   std::size_t c_end, std::size_t tile_floats, float* panel) {
  const std::size_t steps = round_up(c_end - c_begin, 16) / 16;
  for (std::size_t g = 0; g < tiles; ++g) {
    for (std::size_t s = 0; s < steps; ++s) {
      const std::size_t c = c_begin + 16 * s;
      const __mmask16 mask =
          c_end - c >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (c_end - c)) - 1);
#pragma GCC unroll 8
      for (std::size_t r = 0; r < kPanelTileRows; ++r) {
        const std::uint8_t* row = w.data + (r0 + g * kPanelTileRows + r) * w.row_bytes;
        _mm512_store_ps(panel + g * tile_floats + (s * kPanelTileRows + r) * 16,
                        load_weights<kType>(row, c, mask));
      }
    }
  }
}

// sum_lanes of many vectors at once: each stage adds the same lanes sum_lanes adds (lower lane
// first), but packs two inputs' halves into one vector, so four stages take 16 vectors to their
// 16 sums with 30 shuffles where one at a time takes 64.
inline __m512 halve_256(__m512 a, __m512 b) {  // a's and b's lanes i + lanes i + 8
  return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xee));
}
inline __m512 halve_128(__m512 a, __m512 b) {  // in 256-bit halves: lanes i + lanes i + 4
  return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xdd));
}
inline __m512 halve_64(__m512 a, __m512 b) {  // in 128-bit lanes: lanes i + lanes i + 2
  return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x44), _mm512_shuffle_ps(a, b, 0xee));
}
inline __m512 halve_32(__m512 a, __m512 b) {  // in 128-bit lanes: lane 0 + lane 1, 2 + 3
  return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xdd));
}

// out[t·stride + r] = sum_lanes(acc[r][t]) for a 4×6 tile. With v[4m + k] = acc[m][k] (k < 4),
// the four stages leave v[4m + k]'s sum in lane 4k + m: token k's four rows side by side.
inline void reduce_4x6(const __m512 (&acc)[4][6], float* out, std::size_t stride) {
  __m512 b[4];
#pragma GCC unroll 4
  for (std::size_t m = 0; m < 4; ++m)
    b[m] = halve_128(halve_256(acc[m][0], acc[m][1]), halve_256(acc[m][2], acc[m][3]));
  const __m512 d = halve_32(halve_64(b[0], b[1]), halve_64(b[2], b[3]));
#pragma GCC unroll 4
  for (std::size_t k = 0; k < 4; ++k)
    _mm_storeu_ps(out + k * stride,
                  _mm512_castps512_ps128(_mm512_shuffle_f32x4(d, d, static_cast<int>(k * 0x55))));
  // Tokens 4 and 5, with the last stage on one vector twice: lane 4k + h holds the sum of row
  // 2h + k % 2, token 4 + k / 2.
  __m512 c[2];
#pragma GCC unroll 2
  for (std::size_t h = 0; h < 2; ++h) {
    c[h] =
        halve_128(halve_256(acc[2 * h][4], acc[2 * h + 1][4]), halve_256(acc[2 * h][5], acc[2 * h + 1][5]));
  }
  const __m512 e = halve_32(halve_64(c[0], c[1]), halve_64(c[0], c[1]));
  const __m512 picked =
      _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 1, 5, 8, 12, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0), e);
  _mm_storeu_ps(out + 4 * stride, _mm512_castps512_ps128(picked));
  _mm_storeu_ps(out + 5 * stride, _mm512_castps512_ps128(_mm512_shuffle_f32x4(picked, picked, 0x55)));
}

// Where a panel tile is in the call.
struct PanelTileAt {
  const float* weights;      // the tile's converted weights at the chunk's first column
  float* tokens;             // the chunk's packed activations
  const float* const* rows;  // with kPack: each token's activations at the chunk's first column
  std::size_t steps;         // 16-column steps in the chunk
  __mmask16 last_mask;       // columns of the chunk's last step that exist
  bool first, last;          // the chunk is the row's first / last
  float* acc_memory;         // kPanelTileRows × kT vectors, kept between chunks
  float* out;                // at (t0, r0)
  std::size_t out_stride;
  const char* prefetch;  // a line per step from here into L2
};

// kPack: the first row tile of a chunk reads the activations from their rows and packs them as it
// goes (for each 16 columns one vector per token, zero past the end of the row as the masked loads
// of the direct tiles), so their latency hides behind its FMAs; the other row tiles read the pack.
template <std::size_t kT, bool kPack>
void panel_tile(const PanelTileAt& at) {
  constexpr std::size_t kR = kPanelTileRows;
  __m512 acc[kR][kT];
#pragma GCC unroll 16
  for (std::size_t r = 0; r < kR; ++r) {
#pragma GCC unroll 16
    for (std::size_t t = 0; t < kT; ++t) {
      acc[r][t] = at.first ? _mm512_setzero_ps() : _mm512_load_ps(at.acc_memory + (r * kT + t) * 16);
    }
  }
  const float* wp = at.weights;
  float* xp = at.tokens;
  const float* rows[kT];  // (a local copy: the stores to the pack could alias at.rows)
#pragma GCC unroll 16
  for (std::size_t t = 0; t < kT; ++t) rows[t] = kPack ? at.rows[t] : nullptr;
  for (std::size_t s = 0; s < at.steps; ++s, wp += 16 * kR, xp += 16 * kT) {
    __m512 wv[kR];
#pragma GCC unroll 16
    for (std::size_t r = 0; r < kR; ++r) wv[r] = _mm512_load_ps(wp + 16 * r);
    _mm_prefetch(at.prefetch + 64 * s, _MM_HINT_T1);
#pragma GCC unroll 16
    for (std::size_t t = 0; t < kT; ++t) {
      __m512 xv;
      if constexpr (kPack) {
        xv = s + 1 < at.steps ? _mm512_loadu_ps(rows[t] + 16 * s)
                              : _mm512_maskz_loadu_ps(at.last_mask, rows[t] + 16 * s);
        _mm512_store_ps(xp + 16 * t, xv);
      } else {
        xv = _mm512_load_ps(xp + 16 * t);
      }
#pragma GCC unroll 16
      for (std::size_t r = 0; r < kR; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
  if constexpr (kR == 4 && kT == 6) {
    if (at.last) return reduce_4x6(acc, at.out, at.out_stride);
  }
#pragma GCC unroll 16
  for (std::size_t r = 0; r < kR; ++r) {
#pragma GCC unroll 16
    for (std::size_t t = 0; t < kT; ++t) {
      if (at.last) {
        at.out[t * at.out_stride + r] = sum_lanes(acc[r][t]);
      } else {
        _mm512_store_ps(at.acc_memory + (r * kT + t) * 16, acc[r][t]);
      }
    }
  }
}

// A tile of n ≤ kT tokens.
template <std::size_t kT>
void panel_tile_n(std::size_t n, bool pack, const PanelTileAt& at) {
  if constexpr (kT > 1) {
    if (n < kT) return panel_tile_n<kT - 1>(n, pack, at);
  }
  if (pack) return panel_tile<kT, true>(at);
  panel_tile<kT, false>(at);
}

// How a call's rows, tokens and columns are cut: a panel is `panel_tiles` row tiles × `block_cols`
// columns of converted weights; the tokens go `token_block` at a time through each panel (all of
// them when one column block covers the row, else as many as the accumulator memory holds).
struct PanelPlan {
  std::size_t block_cols, block_steps, tile_floats;
  std::size_t panel_tiles, token_block, acc_slots;

  PanelPlan(std::size_t cols, std::size_t rows, std::size_t tokens) {
    block_cols = min_size(cols, kBlockCols);
    block_steps = round_up(block_cols, 16) / 16;
    tile_floats = block_steps * 16 * kPanelTileRows;
    const std::size_t fit = kPanelBytes / (tile_floats * sizeof(float));
    panel_tiles = min_size(rows / kPanelTileRows, fit > 0 ? fit : 1);
    const bool one_block = block_cols == cols;
    token_block = one_block ? tokens : kTokenBlock;
    // One slot per row tile suffices when a token tile goes through the whole row at once.
    acc_slots = panel_tiles * (one_block ? 1 : kTokenBlock / kPanelTileTokens);
  }
};

// Rows [row_begin, row_end), a whole number of panel tiles, against every token.
template <TensorType kType>
void matmul_panels(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
                   float* out, std::size_t out_stride) {
  const PanelPlan plan(w.cols, row_end - row_begin, x.rows);
  constexpr std::size_t kAccFloats = kPanelTileRows * kPanelTileTokens * 16;
  float* panel = reinterpret_cast<float*>(scratch(
      kScratchSlot,
      (plan.panel_tiles * plan.tile_floats + plan.acc_slots * kAccFloats + kPanelTileTokens * kChunkCols) *
          sizeof(float)));
  float* acc_memory = panel + plan.panel_tiles * plan.tile_floats;
  float* pack = acc_memory + plan.acc_slots * kAccFloats;
  const std::size_t max_tiles = (row_end - row_begin) / kPanelTileRows;
  for (std::size_t tb = 0; tb < x.rows; tb += plan.token_block) {
    const std::size_t tb_end = min_size(x.rows, tb + plan.token_block);
    for (std::size_t p = 0; p < max_tiles; p += plan.panel_tiles) {
      const std::size_t tiles = min_size(plan.panel_tiles, max_tiles - p);
      const std::size_t r0 = row_begin + p * kPanelTileRows;
      for (std::size_t kb = 0; kb < w.cols; kb += plan.block_cols) {
        const std::size_t kb_end = min_size(w.cols, kb + plan.block_cols);
        convert_panel<kType>(w, r0, tiles, kb, kb_end, plan.tile_floats, panel);
        for (std::size_t t = tb; t < tb_end; t += kPanelTileTokens) {
          const std::size_t n = min_size(kPanelTileTokens, tb_end - t);
          float* acc =
              acc_memory +
              (plan.acc_slots == plan.panel_tiles ? 0 : (t - tb) / kPanelTileTokens * tiles) * kAccFloats;
          for (std::size_t c = kb; c < kb_end; c += kChunkCols) {
            const std::size_t c_end = min_size(kb_end, c + kChunkCols);
            const float* rows[kPanelTileTokens];
            for (std::size_t i = 0; i < n; ++i)
              rows[i] = reinterpret_cast<const float*>(x.data + (t + i) * x.stride) + c;
            // The chunk after this one: the block's next columns of these tokens, else the next
            // tokens' first (or, at the end of the block, the first tokens' again).
            const bool more_cols = c_end < kb_end;
            const std::size_t next_t = more_cols                       ? t
                                       : t + kPanelTileTokens < tb_end ? t + kPanelTileTokens
                                                                       : tb;
            const std::size_t next_c = more_cols ? c_end : kb;
            const std::size_t next_n = min_size(kPanelTileTokens, tb_end - next_t);
            for (std::size_t g = 0; g < tiles; ++g) {
              // Row tile g < next_n brings token g's next chunk into L2 as it goes (a line per
              // step), so the tile that packs it finds it there rather than in L3 or another core's
              // cache; the others touch their own pack.
              const char* prefetch = g < next_n
                                         ? reinterpret_cast<const char*>(x.data + (next_t + g) * x.stride +
                                                                         next_c * sizeof(float))
                                         : reinterpret_cast<const char*>(pack);
              const PanelTileAt at{panel + g * plan.tile_floats + (c - kb) * kPanelTileRows,
                                   pack,
                                   rows,
                                   round_up(c_end - c, 16) / 16,
                                   static_cast<__mmask16>(0xffffu >> (round_up(c_end - c, 16) - (c_end - c))),
                                   c == 0,
                                   c_end == w.cols,
                                   acc + g * kAccFloats,
                                   out + t * out_stride + r0 + g * kPanelTileRows,
                                   out_stride,
                                   prefetch};
              panel_tile_n<kPanelTileTokens>(n, g == 0, at);
            }
          }
        }
      }
    }
  }
}

template <TensorType kType>
void matmul_float(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
                  float* out, std::size_t out_stride) {
  if (x.rows == 1) {
    std::size_t r = row_begin;
    for (; r + kDecodeRows <= row_end; r += kDecodeRows)
      float_tile<kType, kDecodeRows, 1>(w, r, x, 0, out, out_stride);
    for (; r < row_end; ++r) float_tile<kType, 1, 1>(w, r, x, 0, out, out_stride);
    return;
  }
  if (x.rows > kTileTokens) {
    // Enough tokens to repay converting the weights once; the rows left over go the direct way.
    const std::size_t panel_end = row_begin + (row_end - row_begin) / kPanelTileRows * kPanelTileRows;
    if (panel_end > row_begin) matmul_panels<kType>(w, row_begin, panel_end, x, out, out_stride);
    row_begin = panel_end;
  }
  // A block of tokens at a time, so their activations are read from cache by every row tile.
  for (std::size_t tb = 0; tb < x.rows; tb += kBlockTokens) {
    const std::size_t tb_end = min_size(x.rows, tb + kBlockTokens);
    std::size_t r = row_begin;
    for (; r + kTileRows <= row_end; r += kTileRows) {
      for (std::size_t t = tb; t < tb_end; t += kTileTokens) {
        float_tile_n<kType, kTileRows>(min_size(kTileTokens, tb_end - t), w, r, x, t, out, out_stride);
      }
    }
    for (; r < row_end; ++r) {
      for (std::size_t t = tb; t < tb_end; t += kTileTokens) {
        float_tile_n<kType, 1>(min_size(kTileTokens, tb_end - t), w, r, x, t, out, out_stride);
      }
    }
  }
}

void set(KernelTable& table, TensorType type, MatmulRowsFn fn) {
  table.matmul_rows[static_cast<std::size_t>(type)] = fn;
}

}  // namespace

void add_float_kernels(KernelTable& table) {
  set(table, TensorType::kF32, matmul_float<TensorType::kF32>);
  set(table, TensorType::kF16, matmul_float<TensorType::kF16>);
  set(table, TensorType::kBF16, matmul_float<TensorType::kBF16>);
}

}  // namespace pensieve::kernels::avx512
