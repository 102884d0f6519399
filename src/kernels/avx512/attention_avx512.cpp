// kernels/avx512/attention_avx512: tiled attention's inner loops, 16 lanes at a time. A key tile
// row (kKeyTile = 64 keys) is four registers, so scores are a register-blocked product of 4 query
// rows × 64 keys and the value accumulation 4 rows × 64 dimensions; f16 and q8_0 caches widen
// with vcvtph2ps and vpmovsxbd (for a few query rows, straight from the cache). The contract is in
// attention_kernels.hpp.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/attention_kernels.hpp"
#include "kernels/avx512/exp_avx512.hpp"

namespace pensieve::kernels {
namespace {

static_assert(kKeyTile == 64, "a key tile row is four 16-lane registers");
constexpr std::size_t kQ8Block = 32;
// A q8_0 key tile's bytes, typed apart so that scores_of picks the rows that read it in place.
struct Q8Tile;

__mmask16 lanes_below(std::size_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << count) - 1);
}

// Lanes of [j, j + 16) that are below n.
__mmask16 keys_mask(std::size_t j, std::size_t n) {
  return j >= n ? 0 : lanes_below(n - j);
}

// e^x for x ≤ 0 (scores minus their maximum); exactly 0 for -inf and anything below -87, where
// the result would leave the normal range.
__m512 exp_nonpositive(__m512 x) {
  const __mmask16 normal = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_GE_OQ);
  return _mm512_maskz_mov_ps(normal, avx512::exp_in_range(_mm512_max_ps(x, _mm512_set1_ps(-87.0f))));
}

void load_keys_f32(const std::uint8_t* tile, std::size_t n, std::size_t dim, float* out) {
  const auto* src = reinterpret_cast<const float*>(tile);
  for (std::size_t d = 0; d < dim; ++d) {
    for (std::size_t j = 0; j < kKeyTile; j += 16) {
      _mm512_storeu_ps(out + d * kKeyTile + j,
                       _mm512_maskz_loadu_ps(keys_mask(j, n), src + d * kKeyTile + j));
    }
  }
}

void load_keys_f16(const std::uint8_t* tile, std::size_t n, std::size_t dim, float* out) {
  const auto* src = reinterpret_cast<const std::uint16_t*>(tile);
  for (std::size_t d = 0; d < dim; ++d) {
    for (std::size_t j = 0; j < kKeyTile; j += 16) {
      const __m256i h = _mm256_maskz_loadu_epi16(keys_mask(j, n), src + d * kKeyTile + j);
      _mm512_storeu_ps(out + d * kKeyTile + j, _mm512_cvtph_ps(h));
    }
  }
}

void load_keys_q8_0(const std::uint8_t* tile, std::size_t n, std::size_t dim, float* out) {
  const auto* scales = reinterpret_cast<const std::uint16_t*>(tile);
  const std::uint8_t* codes = tile + dim / kQ8Block * kKeyTile * 2;
  for (std::size_t b = 0; b < dim / kQ8Block; ++b) {
    __m512 scale[4];
    for (std::size_t c = 0; c < 4; ++c) {
      const std::size_t j = c * 16;
      scale[c] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(keys_mask(j, n), scales + b * kKeyTile + j));
    }
    for (std::size_t d = b * kQ8Block; d < (b + 1) * kQ8Block; ++d) {
      for (std::size_t c = 0; c < 4; ++c) {
        const std::size_t j = c * 16;
        const __m128i q = _mm_maskz_loadu_epi8(keys_mask(j, n), codes + d * kKeyTile + j);
        const __m512 x = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q));
        _mm512_storeu_ps(out + d * kKeyTile + j, _mm512_mul_ps(scale[c], x));
      }
    }
  }
}

void load_values_f16(const std::uint8_t* rows, std::size_t row_bytes, std::size_t n, std::size_t dim,
                     float* out) {
  for (std::size_t j = 0; j < n; ++j) {
    const auto* src = reinterpret_cast<const std::uint16_t*>(rows + j * row_bytes);
    for (std::size_t d = 0; d < dim; d += 16) {
      const __mmask16 m = lanes_below(dim - d);
      _mm512_mask_storeu_ps(out + j * dim + d, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + d)));
    }
  }
}

void load_values_q8_0(const std::uint8_t* rows, std::size_t row_bytes, std::size_t n, std::size_t dim,
                      float* out) {
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint8_t* row = rows + j * row_bytes;
    for (std::size_t b = 0; b < dim / kQ8Block; ++b) {
      const std::uint8_t* block = row + b * 34;
      std::uint16_t bits = 0;
      std::memcpy(&bits, block, 2);
      const __m512 scale = _mm512_set1_ps(_cvtsh_ss(bits));
      for (std::size_t half = 0; half < 2; ++half) {
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2 + half * 16));
        const __m512 x = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q));
        _mm512_storeu_ps(out + j * dim + b * kQ8Block + half * 16, _mm512_mul_ps(scale, x));
      }
    }
  }
}

// 16 keys' or values' floats, from the float buffers or straight from an f16 cache.
inline __m512 load16(const float* x) {
  return _mm512_loadu_ps(x);
}
inline __m512 load16(const std::uint16_t* x) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
}

// Asks for the two lines at `at` into L2: the lines a later call reads, one request per line this
// one reads (the `ahead` of ScoresInPlaceFn and AccumulateInPlaceFn), so the requests are spread over the
// products.
inline void ask_for_two_lines(const char* at) {
  _mm_prefetch(at, _MM_HINT_T1);
  _mm_prefetch(at + 64, _MM_HINT_T1);
}

// R query rows against the 64 keys of a tile (T: float, or std::uint16_t for f16), all 4·R sums in
// registers over the dimensions. `ahead`, when not null: as many bytes as the tile's, asked for
// 128 a dimension.
template <int R, typename T>
void scores_rows(const float* q, std::size_t dim, const T* kt, float* s, const char* ahead) {
  __m512 acc[R][4];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_setzero_ps();
  }
  for (std::size_t d = 0; d < dim; ++d) {
    const T* k = kt + d * kKeyTile;
    if (ahead != nullptr) ask_for_two_lines(ahead + d * 128);
    const __m512 k0 = load16(k), k1 = load16(k + 16);
    const __m512 k2 = load16(k + 32), k3 = load16(k + 48);
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(q[r * dim + d]);
      acc[r][0] = _mm512_fmadd_ps(x, k0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(x, k1, acc[r][1]);
      acc[r][2] = _mm512_fmadd_ps(x, k2, acc[r][2]);
      acc[r][3] = _mm512_fmadd_ps(x, k3, acc[r][3]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < 4; ++c) _mm512_storeu_ps(s + r * kKeyTile + c * 16, acc[r][c]);
  }
}

template <typename T>
void scores_of(const float* q, std::size_t rows, std::size_t dim, const T* kt, float* s, const char* ahead) {
  std::size_t m = 0;
  // (The first pass over the tile asks for `ahead`.)
  for (; m + 4 <= rows; m += 4, ahead = nullptr)
    scores_rows<4>(q + m * dim, dim, kt, s + m * kKeyTile, ahead);
  switch (rows - m) {
    case 3:
      scores_rows<3>(q + m * dim, dim, kt, s + m * kKeyTile, ahead);
      break;
    case 2:
      scores_rows<2>(q + m * dim, dim, kt, s + m * kKeyTile, ahead);
      break;
    case 1:
      scores_rows<1>(q + m * dim, dim, kt, s + m * kKeyTile, ahead);
      break;
    default:
      break;
  }
}

void scores(const float* q, std::size_t rows, std::size_t dim, const float* kt, float* s) {
  scores_of(q, rows, dim, kt, s, nullptr);
}

void scores_f16(const float* q, std::size_t rows, std::size_t dim, const std::uint8_t* tile, float* s,
                const std::uint8_t* ahead) {
  scores_of(q, rows, dim, reinterpret_cast<const std::uint16_t*>(tile), s,
            reinterpret_cast<const char*>(ahead));
}

// R query rows against the 64 keys of a q8_0 tile, read in place: each key's floats are its
// block's scale times its codes, the product load_keys_q8_0 stores, so the same terms in the same
// order as converting the tile first. `ahead`, when not null: as many bytes as the tile's, asked
// for 68 a dimension (a dimension's codes and its share of the scales).
template <int R>
void scores_rows(const float* q, std::size_t dim, const Q8Tile* q8_tile, float* s, const char* ahead) {
  const auto* tile = reinterpret_cast<const std::uint8_t*>(q8_tile);
  const auto* scales = reinterpret_cast<const std::uint16_t*>(tile);
  const std::uint8_t* codes = tile + dim / kQ8Block * kKeyTile * 2;
  __m512 acc[R][4];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_setzero_ps();
  }
  for (std::size_t b = 0; b < dim / kQ8Block; ++b) {
    __m512 scale[4];
    for (int c = 0; c < 4; ++c) {
      scale[c] = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + b * kKeyTile + 16 * c)));
    }
    for (std::size_t d = b * kQ8Block; d < (b + 1) * kQ8Block; ++d) {
      const std::uint8_t* k = codes + d * kKeyTile;
      if (ahead != nullptr) ask_for_two_lines(ahead + d * 68);
      __m512 key[4];
      for (int c = 0; c < 4; ++c) {
        const __m128i code = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k + 16 * c));
        key[c] = _mm512_mul_ps(scale[c], _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(code)));
      }
      for (int r = 0; r < R; ++r) {
        const __m512 x = _mm512_set1_ps(q[r * dim + d]);
        for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_fmadd_ps(x, key[c], acc[r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < 4; ++c) _mm512_storeu_ps(s + r * kKeyTile + c * 16, acc[r][c]);
  }
}

void scores_q8_0(const float* q, std::size_t rows, std::size_t dim, const std::uint8_t* tile, float* s,
                 const std::uint8_t* ahead) {
  scores_of(q, rows, dim, reinterpret_cast<const Q8Tile*>(tile), s, reinterpret_cast<const char*>(ahead));
}

void softmax_step(float* s, std::size_t rows, float* row_max, float* row_sum, float* acc, std::size_t dim_v) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (std::size_t m = 0; m < rows; ++m) {
    float* row = s + m * kKeyTile;
    __m512 x[4];
    for (int c = 0; c < 4; ++c) x[c] = _mm512_loadu_ps(row + c * 16);
    const __m512 wide_max = _mm512_max_ps(_mm512_max_ps(x[0], x[1]), _mm512_max_ps(x[2], x[3]));
    const float new_max = std::max(row_max[m], _mm512_reduce_max_ps(wide_max));
    if (new_max == kNegInf) {
      for (int c = 0; c < 4; ++c) _mm512_storeu_ps(row + c * 16, _mm512_setzero_ps());
      continue;
    }
    // exp(old − new) in the same arithmetic as the weights (1 exactly when the maximum stays, 0
    // for a row's first visible keys).
    const float factor = _mm512_cvtss_f32(exp_nonpositive(_mm512_set1_ps(row_max[m] - new_max)));
    const __m512 shift = _mm512_set1_ps(new_max);
    __m512 sum = _mm512_setzero_ps();
    for (int c = 0; c < 4; ++c) {
      const __m512 p = exp_nonpositive(_mm512_sub_ps(x[c], shift));
      _mm512_storeu_ps(row + c * 16, p);
      sum = _mm512_add_ps(sum, p);
    }
    row_sum[m] = row_sum[m] * factor + _mm512_reduce_add_ps(sum);
    if (factor != 1.0f) {
      const __m512 f = _mm512_set1_ps(factor);
      float* a = acc + m * dim_v;
      for (std::size_t d = 0; d < dim_v; d += 16) {
        const __mmask16 lanes = lanes_below(dim_v - d);
        _mm512_mask_storeu_ps(a + d, lanes, _mm512_mul_ps(f, _mm512_maskz_loadu_ps(lanes, a + d)));
      }
    }
    row_max[m] = new_max;
  }
}

// The value rows accumulate reads: n rows of floats, dim_v apart in the thread's buffer, or of
// f16 values or q8_0 blocks straight from the cache, row_bytes apart. load4 gives dimensions
// [d0, d0 + 64) of row j, load 16 of them from d (the lanes past the mask zero). kAheadBytes: the
// cache bytes of one row's 64 dimensions, what accumulate asks for per key.
struct FloatRows {
  static constexpr std::size_t kAheadBytes = 0;  // (never read from the cache)
  const float* v;
  std::size_t dim_v;
  void load4(std::size_t j, std::size_t d0, __m512 (&x)[4]) const {
    for (int c = 0; c < 4; ++c) x[c] = load16(v + j * dim_v + d0 + 16 * c);
  }
  __m512 load(std::size_t j, std::size_t d, __mmask16 lanes) const {
    return _mm512_maskz_loadu_ps(lanes, v + j * dim_v + d);
  }
};
struct F16Rows {
  static constexpr std::size_t kAheadBytes = 128;
  const std::uint8_t* rows;
  std::size_t row_bytes;
  const std::uint16_t* row(std::size_t j) const {
    return reinterpret_cast<const std::uint16_t*>(rows + j * row_bytes);
  }
  void load4(std::size_t j, std::size_t d0, __m512 (&x)[4]) const {
    for (int c = 0; c < 4; ++c) x[c] = load16(row(j) + d0 + 16 * c);
  }
  __m512 load(std::size_t j, std::size_t d, __mmask16 lanes) const {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes, row(j) + d));
  }
};
// Each 16 values are their block's scale times their codes, the product load_values_q8_0 stores.
struct Q8Rows {
  static constexpr std::size_t kAheadBytes = 2 * 34;
  const std::uint8_t* rows;
  std::size_t row_bytes;
  static __m512 scale_of(const std::uint8_t* block) {
    std::uint16_t bits = 0;
    std::memcpy(&bits, block, 2);
    return _mm512_set1_ps(_cvtsh_ss(bits));
  }
  static __m512 times(__m512 scale, __m128i codes) {
    return _mm512_mul_ps(scale, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(codes)));
  }
  void load4(std::size_t j, std::size_t d0, __m512 (&x)[4]) const {
    for (std::size_t h = 0; h < 2; ++h) {
      const std::uint8_t* block = rows + j * row_bytes + (d0 / kQ8Block + h) * 34;
      const __m512 scale = scale_of(block);
      for (std::size_t c = 0; c < 2; ++c)
        x[2 * h + c] = times(scale, _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2 + 16 * c)));
    }
  }
  __m512 load(std::size_t j, std::size_t d, __mmask16 lanes) const {
    const std::uint8_t* block = rows + j * row_bytes + d / kQ8Block * 34;
    return times(scale_of(block), _mm_maskz_loadu_epi8(lanes, block + 2 + d % kQ8Block));
  }
};

// R rows of weights times the n value rows, into dimensions [d0, d0 + 64) of R accumulator rows:
// 4·R sums in registers over the keys. `ahead`, when not null: 128 bytes a key asked for.
template <int R, typename Rows>
void accumulate_rows(const float* p, std::size_t n, const Rows& v, std::size_t dim_v, std::size_t d0,
                     float* acc, const char* ahead) {
  __m512 sum[R][4];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < 4; ++c) sum[r][c] = _mm512_loadu_ps(acc + r * dim_v + d0 + c * 16);
  }
  for (std::size_t j = 0; j < n; ++j) {
    if (ahead != nullptr) ask_for_two_lines(ahead + j * Rows::kAheadBytes);
    __m512 x[4];
    v.load4(j, d0, x);
    for (int r = 0; r < R; ++r) {
      const __m512 w = _mm512_set1_ps(p[r * kKeyTile + j]);
      for (int c = 0; c < 4; ++c) sum[r][c] = _mm512_fmadd_ps(w, x[c], sum[r][c]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < 4; ++c) _mm512_storeu_ps(acc + r * dim_v + d0 + c * 16, sum[r][c]);
  }
}

// The dimensions past the last whole 64 (fewer than 64), 16 at a time with the last masked, one
// row at a time. Kept apart from the loop above: with masks in it GCC 12 moves every sum through
// the stack on each key.
template <typename Rows>
void accumulate_tail(const float* p, std::size_t rows, std::size_t n, const Rows& v, std::size_t dim_v,
                     std::size_t d0, float* acc) {
  for (std::size_t m = 0; m < rows; ++m) {
    for (std::size_t d = d0; d < dim_v; d += 16) {
      const __mmask16 lanes = lanes_below(dim_v - d);
      __m512 sum = _mm512_maskz_loadu_ps(lanes, acc + m * dim_v + d);
      for (std::size_t j = 0; j < n; ++j)
        sum = _mm512_fmadd_ps(_mm512_set1_ps(p[m * kKeyTile + j]), v.load(j, d, lanes), sum);
      _mm512_mask_storeu_ps(acc + m * dim_v + d, lanes, sum);
    }
  }
}

// `ahead`, when not null: n·Rows::kAheadBytes bytes for each 64 dimensions (as many as the n
// value rows hold), asked for by the first pass over those dimensions.
template <typename Rows>
void accumulate_of(const float* p, std::size_t rows, std::size_t n, const Rows& v, std::size_t dim_v,
                   float* acc, const char* ahead) {
  std::size_t d0 = 0;
  for (; d0 + 64 <= dim_v; d0 += 64) {
    const char* these = ahead != nullptr ? ahead + d0 / 64 * n * Rows::kAheadBytes : nullptr;
    std::size_t m = 0;
    for (; m + 4 <= rows; m += 4, these = nullptr)
      accumulate_rows<4>(p + m * kKeyTile, n, v, dim_v, d0, acc + m * dim_v, these);
    switch (rows - m) {
      case 3:
        accumulate_rows<3>(p + m * kKeyTile, n, v, dim_v, d0, acc + m * dim_v, these);
        break;
      case 2:
        accumulate_rows<2>(p + m * kKeyTile, n, v, dim_v, d0, acc + m * dim_v, these);
        break;
      case 1:
        accumulate_rows<1>(p + m * kKeyTile, n, v, dim_v, d0, acc + m * dim_v, these);
        break;
      default:
        break;
    }
  }
  if (d0 < dim_v) accumulate_tail(p, rows, n, v, dim_v, d0, acc);
}

void accumulate(const float* p, std::size_t rows, std::size_t n, const float* v, std::size_t dim_v,
                float* acc) {
  accumulate_of(p, rows, n, FloatRows{v, dim_v}, dim_v, acc, nullptr);
}

void accumulate_f16(const float* p, std::size_t rows, std::size_t n, const std::uint8_t* rows_f16,
                    std::size_t row_bytes, std::size_t dim_v, float* acc, const std::uint8_t* ahead) {
  accumulate_of(p, rows, n, F16Rows{rows_f16, row_bytes}, dim_v, acc, reinterpret_cast<const char*>(ahead));
}

void accumulate_q8_0(const float* p, std::size_t rows, std::size_t n, const std::uint8_t* rows_q8,
                     std::size_t row_bytes, std::size_t dim_v, float* acc, const std::uint8_t* ahead) {
  accumulate_of(p, rows, n, Q8Rows{rows_q8, row_bytes}, dim_v, acc, reinterpret_cast<const char*>(ahead));
}

}  // namespace

AttentionKernels avx512_attention_kernels() {
  AttentionKernels k;
  k.load_keys = {load_keys_f32, load_keys_f16, load_keys_q8_0};
  k.load_values = {nullptr, load_values_f16, load_values_q8_0};  // f32 values are read in place
  k.scores = scores;
  k.softmax_step = softmax_step;
  k.accumulate = accumulate;
  k.scores_f16 = scores_f16;
  k.accumulate_f16 = accumulate_f16;
  k.scores_q8_0 = scores_q8_0;
  k.accumulate_q8_0 = accumulate_q8_0;
  return k;
}

}  // namespace pensieve::kernels
