// kernels/avx2/float_avx2: F32, F16 and BF16 weights against float activations. Eight columns at
// a time, each pair (row, input) accumulates acc = fma(w, x, acc) in column order, and a row
// that is not a multiple of eight ends with one zero-padded chunk; a tile of R rows × T inputs
// converts each chunk of its rows once for all T inputs. Decode takes 8 rows × 1 input at a time.
#include "kernels/avx2/avx2_common.hpp"
#include "kernels/next_rows_prefetch.hpp"

namespace pensieve::kernels::avx2 {
namespace {

// Lanes [0, n) set, for masked loads of a row's last chunk.
__m256i first_lanes(std::size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

struct F32 {
  static __m256 load8(const std::uint8_t* row, std::size_t c) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + c);
  }
  static __m256 load_partial(const std::uint8_t* row, std::size_t c, std::size_t n) {
    return _mm256_maskload_ps(reinterpret_cast<const float*>(row) + c, first_lanes(n));
  }
};

// 16-bit values: the partial chunk goes through a zeroed copy (no 16-bit masked load in AVX2).
template <class Derived>
struct Half16 {
  static __m256 load8(const std::uint8_t* row, std::size_t c) {
    return Derived::widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * c)));
  }
  static __m256 load_partial(const std::uint8_t* row, std::size_t c, std::size_t n) {
    std::uint16_t buffer[8] = {};
    std::memcpy(buffer, row + 2 * c, 2 * n);
    return Derived::widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(buffer)));
  }
};

struct F16 : Half16<F16> {
  static __m256 widen(__m128i h) { return _mm256_cvtph_ps(h); }
};

// bfloat16 is the top half of a float32.
struct BF16 : Half16<BF16> {
  static __m256 widen(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
};

template <class L>
struct FloatTile {
  template <int R, int T>
  static void run(const WeightMatrix& w, std::size_t r0, const Activations& x, std::size_t t0, float* out,
                  std::size_t out_stride) {
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    }
    const std::uint8_t* rows[R];
    for (int r = 0; r < R; ++r) rows[r] = w.data + (r0 + static_cast<std::size_t>(r)) * w.row_bytes;
    const float* inputs[T];
    for (int t = 0; t < T; ++t) {
      inputs[t] = reinterpret_cast<const float*>(x.data + (t0 + static_cast<std::size_t>(t)) * x.stride);
    }
    NextRowsPrefetch prefetch(rows[0], R * w.row_bytes, (w.cols + 7) / 8);  // decode (one input) only
    std::size_t c = 0;
    for (; c + 8 <= w.cols; c += 8) {
      if constexpr (T == 1) prefetch.step();
      __m256 wv[R];
      for (int r = 0; r < R; ++r) wv[r] = L::load8(rows[r], c);
      for (int t = 0; t < T; ++t) {
        const __m256 xv = _mm256_loadu_ps(inputs[t] + c);
        for (int r = 0; r < R; ++r) acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
      }
    }
    if (c < w.cols) {
      const std::size_t n = w.cols - c;
      __m256 wv[R];
      for (int r = 0; r < R; ++r) wv[r] = L::load_partial(rows[r], c, n);
      for (int t = 0; t < T; ++t) {
        const __m256 xv = _mm256_maskload_ps(inputs[t] + c, first_lanes(n));
        for (int r = 0; r < R; ++r) acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
      }
    }
    store_tile(acc, r0, t0, out, out_stride);
  }
};

// Prompt passes (kPromptInputs or more inputs) go through the columns in chunks: a chunk of
// kPromptInputs inputs (4 KiB) stays in L1 while every row of a block of rows meets it, where
// whole rows of four inputs (32 KiB at 2048 columns) came from L2 again for every pair of rows.
// Each (row, input) pair still accumulates in column order on one vector, kept in memory between
// chunks, so the bits are FloatTile's. Tiles of 3 rows × 4 inputs: 12 accumulators, each
// converted weight chunk serving four inputs (F16 pp512 on a Zen 3: 2 × 4 without chunks 37–44
// t/s, 3 × 4 with 55–69, 2 × 6 38–43, 2 × 5 34–40; 4 × 3 slower still on kernels_bench: the
// conversions are not free).
constexpr int kPromptRows = 3, kPromptInputs = 4;
constexpr std::size_t kChunkCols = 256;         // 128 and 512 measured the same
constexpr std::size_t kBlockBytes = 192 << 10;  // a block's weights stay in L2 for every input tile
constexpr std::size_t kMaxBlockRows = 11 * kPromptRows;

// Columns [c0, c1) of R rows from r0 × T inputs from t0, onto acc[r][t].
template <class L, int R, int T>
void chunk_tile(const WeightMatrix& w, std::size_t r0, const Activations& x, std::size_t t0, std::size_t c0,
                std::size_t c1, __m256 (*acc)[T]) {
  __m256 a[R][T];
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) a[r][t] = acc[r][t];
  }
  const std::uint8_t* rows[R];
  for (int r = 0; r < R; ++r) rows[r] = w.data + (r0 + static_cast<std::size_t>(r)) * w.row_bytes;
  const float* inputs[T];
  for (int t = 0; t < T; ++t) {
    inputs[t] = reinterpret_cast<const float*>(x.data + (t0 + static_cast<std::size_t>(t)) * x.stride);
  }
  std::size_t c = c0;
  for (; c + 8 <= c1; c += 8) {
    __m256 wv[R];
    for (int r = 0; r < R; ++r) wv[r] = L::load8(rows[r], c);
    for (int t = 0; t < T; ++t) {
      const __m256 xv = _mm256_loadu_ps(inputs[t] + c);
      for (int r = 0; r < R; ++r) a[r][t] = _mm256_fmadd_ps(wv[r], xv, a[r][t]);
    }
  }
  if (c < c1) {
    const std::size_t n = c1 - c;
    __m256 wv[R];
    for (int r = 0; r < R; ++r) wv[r] = L::load_partial(rows[r], c, n);
    for (int t = 0; t < T; ++t) {
      const __m256 xv = _mm256_maskload_ps(inputs[t] + c, first_lanes(n));
      for (int r = 0; r < R; ++r) a[r][t] = _mm256_fmadd_ps(wv[r], xv, a[r][t]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) acc[r][t] = a[r][t];
  }
}

// The inputs up to the last whole tile of kPromptInputs; returns how many that is.
template <class L>
std::size_t prompt_tiles(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end,
                         const Activations& x, float* out, std::size_t out_stride) {
  constexpr int R = kPromptRows, T = kPromptInputs;
  const std::size_t fit = kBlockBytes / w.row_bytes / R * R;
  const std::size_t block_rows = fit < R ? R : fit > kMaxBlockRows ? kMaxBlockRows : fit;
  const std::size_t full = x.rows / T * T;
  alignas(32) __m256 acc[kMaxBlockRows][T];
  for (std::size_t block = row_begin; block < row_end; block += block_rows) {
    const std::size_t n = row_end - block < block_rows ? row_end - block : block_rows;
    for (std::size_t t0 = 0; t0 < full; t0 += T) {
      for (std::size_t r = 0; r < n; ++r) {
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
      }
      for (std::size_t c0 = 0; c0 < w.cols; c0 += kChunkCols) {
        const std::size_t c1 = w.cols - c0 < kChunkCols ? w.cols : c0 + kChunkCols;
        std::size_t r = 0;
        for (; r + R <= n; r += R) chunk_tile<L, R, T>(w, block + r, x, t0, c0, c1, acc + r);
        for (; r < n; ++r) chunk_tile<L, 1, T>(w, block + r, x, t0, c0, c1, acc + r);
      }
      for (int t = 0; t < T; ++t) {
        float* o = out + (t0 + static_cast<std::size_t>(t)) * out_stride + block;
        for (std::size_t r = 0; r < n; ++r) o[r] = hsum(acc[r][t]);
      }
    }
  }
  return full;
}

template <class L>
void matmul(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
            float* out, std::size_t out_stride) {
  const std::size_t done =
      x.rows >= kPromptInputs ? prompt_tiles<L>(w, row_begin, row_end, x, out, out_stride) : 0;
  if (done == x.rows) return;
  Activations rest = x;
  rest.data = x.data + done * x.stride;
  rest.rows = x.rows - done;
  // The rest (decode: all of it), one input at a time.
  matmul_tiled<FloatTile<L>, 8, 1, 8>(w, row_begin, row_end, rest, out + done * out_stride, out_stride);
}

}  // namespace

void add_float_kernels(MatmulSlots& slots) {
  using tensor::TensorType;
  slots[static_cast<std::size_t>(TensorType::kF32)] = matmul<F32>;
  slots[static_cast<std::size_t>(TensorType::kF16)] = matmul<F16>;
  slots[static_cast<std::size_t>(TensorType::kBF16)] = matmul<BF16>;
}

}  // namespace pensieve::kernels::avx2
