// kernels/avx512/float: F32, F16 and BF16 weights against float activations. Here the lanes run
// over 16 columns: there is no per-group scale to apply, so each (row, token) pair keeps its own
// 16-lane sum, one FMA per 16 columns, and is reduced once at the end. A tile of rows × tokens
// shares each converted weight vector among its tokens and each activation vector among its rows.
//
// Every pair's float operations are the same whatever tile it is in: acc = fma(w, x, acc) over
// the columns in order, 16 at a time (a ragged end masked to zero), then sum_lanes(acc).
#include "kernels/avx512/common.hpp"
#include "kernels/avx512/entries.hpp"

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
  for (std::size_t c = 0; c < w.cols; c += 16) {
    const __mmask16 mask =
        w.cols - c >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (w.cols - c)) - 1);
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
// and the tiles above convert each one again for every 6 tokens. So a panel of rows is converted
// to f32 once per call (kept in L2), and FMA-only tiles run every token against it. A tile's
// activations are taken kChunkCols columns at a time, so they stay in L1 while every row tile of
// the panel passes over them; a tile's accumulators are kept in memory between chunks, which
// leaves each pair's float sequence as it is.
constexpr std::size_t kPanelTileRows = 4;
constexpr std::size_t kPanelTileTokens = 6;
constexpr std::size_t kChunkCols = 512;
constexpr std::size_t kPanelBytes = std::size_t{512} << 10;
constexpr unsigned kScratchSlot = 2;

// The converted panel: for each tile of kPanelTileRows rows, for each 16 columns, one vector per
// row (a tile's weights are one contiguous stream). Columns past the end are zero, as the masked
// loads of the direct tiles give.
template <TensorType kType>
void convert_panel(const WeightMatrix& w, std::size_t r0, std::size_t tiles, float* panel) {
  const std::size_t steps = round_up(w.cols, 16) / 16;
  for (std::size_t g = 0; g < tiles; ++g) {
    for (std::size_t s = 0; s < steps; ++s) {
      const std::size_t c = 16 * s;
      const __mmask16 mask =
          w.cols - c >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (w.cols - c)) - 1);
#pragma GCC unroll 8
      for (std::size_t r = 0; r < kPanelTileRows; ++r) {
        const std::uint8_t* row = w.data + (r0 + g * kPanelTileRows + r) * w.row_bytes;
        _mm512_store_ps(panel + ((g * steps + s) * kPanelTileRows + r) * 16, load_weights<kType>(row, c, mask));
      }
    }
  }
}

// One 16-column step of a panel tile; kMasked for the ragged end of a row.
template <std::size_t kT, bool kMasked>
inline void panel_step(const float* wp, const float* const* xs, std::size_t c, __mmask16 mask,
                       __m512 (&acc)[kPanelTileRows][kT]) {
  __m512 wv[kPanelTileRows];
#pragma GCC unroll 8
  for (std::size_t r = 0; r < kPanelTileRows; ++r) wv[r] = _mm512_load_ps(wp + 16 * r);
#pragma GCC unroll 8
  for (std::size_t t = 0; t < kT; ++t) {
    const __m512 xv = kMasked ? _mm512_maskz_loadu_ps(mask, xs[t] + c) : _mm512_loadu_ps(xs[t] + c);
#pragma GCC unroll 8
    for (std::size_t r = 0; r < kPanelTileRows; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
  }
}

// Where a panel tile is in the call: its rows, tokens, columns [c_begin, c_end) of `cols`, and
// its accumulators' memory between chunks.
struct PanelTileAt {
  const float* weights;  // the tile's converted weights at column c_begin
  std::size_t r0, t0, c_begin, c_end, cols;
  float* acc_memory;  // kPanelTileRows × kT vectors
  float* out;
  std::size_t out_stride;
};

template <std::size_t kT>
void panel_tile(const Activations& x, const PanelTileAt& at) {
  const float* xs[kT];
#pragma GCC unroll 8
  for (std::size_t t = 0; t < kT; ++t) xs[t] = reinterpret_cast<const float*>(x.data + (at.t0 + t) * x.stride);
  __m512 acc[kPanelTileRows][kT];
  const bool first = at.c_begin == 0, last = at.c_end == at.cols;
#pragma GCC unroll 8
  for (std::size_t r = 0; r < kPanelTileRows; ++r) {
#pragma GCC unroll 8
    for (std::size_t t = 0; t < kT; ++t) {
      acc[r][t] = first ? _mm512_setzero_ps() : _mm512_load_ps(at.acc_memory + (r * kT + t) * 16);
    }
  }
  const float* wp = at.weights;
  std::size_t c = at.c_begin;
  for (; c + 16 <= at.c_end; c += 16, wp += 16 * kPanelTileRows) panel_step<kT, false>(wp, xs, c, 0, acc);
  if (c < at.c_end) {
    panel_step<kT, true>(wp, xs, c, static_cast<__mmask16>((1u << (at.c_end - c)) - 1), acc);
  }
#pragma GCC unroll 8
  for (std::size_t r = 0; r < kPanelTileRows; ++r) {
#pragma GCC unroll 8
    for (std::size_t t = 0; t < kT; ++t) {
      if (last) {
        at.out[(at.t0 + t) * at.out_stride + at.r0 + r] = sum_lanes(acc[r][t]);
      } else {
        _mm512_store_ps(at.acc_memory + (r * kT + t) * 16, acc[r][t]);
      }
    }
  }
}

void panel_tile_n(std::size_t n, const Activations& x, const PanelTileAt& at) {
  static_assert(kPanelTileTokens == 6);
  switch (n) {
    case 1:
      return panel_tile<1>(x, at);
    case 2:
      return panel_tile<2>(x, at);
    case 3:
      return panel_tile<3>(x, at);
    case 4:
      return panel_tile<4>(x, at);
    case 5:
      return panel_tile<5>(x, at);
    default:
      return panel_tile<6>(x, at);
  }
}

// Rows [row_begin, row_end), a whole number of panel tiles, against every token.
template <TensorType kType>
void matmul_panels(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
                   float* out, std::size_t out_stride) {
  const std::size_t steps = round_up(w.cols, 16) / 16;
  const std::size_t tile_floats = steps * 16 * kPanelTileRows;
  const std::size_t max_tiles = (row_end - row_begin) / kPanelTileRows;
  const std::size_t panel_tiles =
      min_size(max_tiles, kPanelBytes / (tile_floats * sizeof(float)) > 0 ? kPanelBytes / (tile_floats * sizeof(float)) : 1);
  const std::size_t acc_floats = kPanelTileRows * kPanelTileTokens * 16;
  float* panel =
      reinterpret_cast<float*>(scratch(kScratchSlot, (panel_tiles * (tile_floats + acc_floats)) * sizeof(float)));
  float* acc_memory = panel + panel_tiles * tile_floats;
  for (std::size_t p = 0; p < max_tiles; p += panel_tiles) {
    const std::size_t tiles = min_size(panel_tiles, max_tiles - p);
    const std::size_t r0 = row_begin + p * kPanelTileRows;
    convert_panel<kType>(w, r0, tiles, panel);
    for (std::size_t t = 0; t < x.rows; t += kPanelTileTokens) {
      const std::size_t n = min_size(kPanelTileTokens, x.rows - t);
      for (std::size_t c = 0; c < w.cols; c += kChunkCols) {
        for (std::size_t g = 0; g < tiles; ++g) {
          const PanelTileAt at{panel + g * tile_floats + c * kPanelTileRows,
                               r0 + g * kPanelTileRows,
                               t,
                               c,
                               min_size(w.cols, c + kChunkCols),
                               w.cols,
                               acc_memory + g * acc_floats,
                               out,
                               out_stride};
          panel_tile_n(n, x, at);
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
