// kernels/avx2/float_avx2: F32, F16 and BF16 weights against float activations. Eight columns at
// a time, each pair (row, input) accumulates acc = fma(w, x, acc) in column order, and a row
// that is not a multiple of eight ends with one zero-padded chunk; a tile of R rows × T inputs
// converts each chunk of its rows once for all T inputs.
#include "kernels/avx2/avx2_common.hpp"

namespace pensieve::kernels::avx2 {
namespace {

// Lanes [0, n) set, for masked loads of a row's last chunk.
__m256i first_lanes(std::size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

struct F32 {
  static constexpr int kRows = 2;  // each weight chunk serves four inputs: half the L2 traffic of 4 × 2
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
  static constexpr int kRows = 2;  // a converted chunk serves four inputs: the conversions are few
  static __m256 widen(__m128i h) { return _mm256_cvtph_ps(h); }
};

// bfloat16 is the top half of a float32.
struct BF16 : Half16<BF16> {
  static constexpr int kRows = 2;
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
    std::size_t c = 0;
    for (; c + 8 <= w.cols; c += 8) {
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

template <class L>
void matmul(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
            float* out, std::size_t out_stride) {
  // Tiles of 8 accumulators; decode (one input) takes 8 rows at a time.
  matmul_tiled<FloatTile<L>, L::kRows, 8 / L::kRows, 8>(w, row_begin, row_end, x, out, out_stride);
}

}  // namespace

void add_float_kernels(MatmulSlots& slots) {
  using tensor::TensorType;
  slots[static_cast<std::size_t>(TensorType::kF32)] = matmul<F32>;
  slots[static_cast<std::size_t>(TensorType::kF16)] = matmul<F16>;
  slots[static_cast<std::size_t>(TensorType::kBF16)] = matmul<BF16>;
}

}  // namespace pensieve::kernels::avx2
