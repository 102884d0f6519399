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
