// kernels/avx2/attention_avx2: tiled attention's inner loops, 8 lanes at a time (AVX2 + FMA +
// F16C). Scores are register-blocked as 4 query rows × 16 keys, the value accumulation as 4 rows
// × 16 dimensions; f16 and q8_0 caches widen with vcvtph2ps and vpmovsxbd (for a few query rows,
// straight from the cache). Partial tiles (fewer
// keys than kKeyTile, dimensions not a multiple of 8) take a one-lane path with the same
// arithmetic. The contract is in attention_kernels.hpp.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/attention_kernels.hpp"
#include "kernels/avx2/exp_avx2.hpp"

namespace pensieve::kernels {
namespace {

static_assert(kKeyTile % 16 == 0, "key tiles are processed 16 keys at a time");
constexpr std::size_t kQ8Block = 32;
// A q8_0 key tile's bytes, typed apart so that scores_of picks the rows that read it in place.
struct Q8Tile;

float half_at(const std::uint8_t* p) {
  std::uint16_t bits = 0;
  std::memcpy(&bits, p, 2);
  return _cvtsh_ss(bits);
}

float hmax(__m256 x) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

float hsum(__m256 x) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// e^x for x ≤ 0 (scores minus their maximum); exactly 0 for -inf and anything below -87, where
// the result would leave the normal range.
__m256 exp_nonpositive(__m256 x) {
  const __m256 normal = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_GE_OQ);
  return _mm256_and_ps(avx2::exp_in_range(_mm256_max_ps(x, _mm256_set1_ps(-87.0f))), normal);
}

void load_keys_f32(const std::uint8_t* tile, std::size_t n, std::size_t dim, float* out) {
  for (std::size_t d = 0; d < dim; ++d) {
    const std::uint8_t* src = tile + d * kKeyTile * sizeof(float);
    float* dst = out + d * kKeyTile;
    std::memcpy(dst, src, n * sizeof(float));
    std::fill(dst + n, dst + kKeyTile, 0.0f);
  }
}

void load_keys_f16(const std::uint8_t* tile, std::size_t n, std::size_t dim, float* out) {
  for (std::size_t d = 0; d < dim; ++d) {
    const std::uint8_t* src = tile + d * kKeyTile * 2;
    float* dst = out + d * kKeyTile;
    std::size_t j = 0;
    for (; j + 8 <= n; j += 8) {
      _mm256_storeu_ps(dst + j,
                       _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + j * 2))));
    }
    for (; j < n; ++j) dst[j] = half_at(src + j * 2);
    for (; j < kKeyTile; ++j) dst[j] = 0.0f;
  }
}

void load_keys_q8_0(const std::uint8_t* tile, std::size_t n, std::size_t dim, float* out) {
  const std::uint8_t* scales = tile;
  const std::uint8_t* codes = tile + dim / kQ8Block * kKeyTile * 2;
  for (std::size_t b = 0; b < dim / kQ8Block; ++b) {
    const std::uint8_t* block_scales = scales + b * kKeyTile * 2;
    for (std::size_t d = b * kQ8Block; d < (b + 1) * kQ8Block; ++d) {
      const std::uint8_t* src = codes + d * kKeyTile;
      float* dst = out + d * kKeyTile;
      std::size_t j = 0;
      for (; j + 8 <= n; j += 8) {
        const __m256 scale =
            _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block_scales + j * 2)));
        const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + j));
        _mm256_storeu_ps(dst + j, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
      }
      for (; j < n; ++j)
        dst[j] = half_at(block_scales + j * 2) * static_cast<float>(static_cast<std::int8_t>(src[j]));
      for (; j < kKeyTile; ++j) dst[j] = 0.0f;
    }
  }
}

void load_values_f16(const std::uint8_t* rows, std::size_t row_bytes, std::size_t n, std::size_t dim,
                     float* out) {
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint8_t* src = rows + j * row_bytes;
    float* dst = out + j * dim;
    std::size_t d = 0;
    for (; d + 8 <= dim; d += 8) {
      _mm256_storeu_ps(dst + d,
                       _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + d * 2))));
    }
    for (; d < dim; ++d) dst[d] = half_at(src + d * 2);
  }
}

void load_values_q8_0(const std::uint8_t* rows, std::size_t row_bytes, std::size_t n, std::size_t dim,
                      float* out) {
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint8_t* row = rows + j * row_bytes;
    for (std::size_t b = 0; b < dim / kQ8Block; ++b) {
      const std::uint8_t* block = row + b * 34;
      const __m256 scale = _mm256_set1_ps(half_at(block));
      for (std::size_t i = 0; i < kQ8Block; i += 8) {
        const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + 2 + i));
        _mm256_storeu_ps(out + j * dim + b * kQ8Block + i,
                         _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
      }
    }
  }
}

// 8 keys' or values' floats, from the float buffers or straight from an f16 cache.
inline __m256 load8(const float* x) {
  return _mm256_loadu_ps(x);
}
inline __m256 load8(const std::uint16_t* x) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
}

// R query rows against keys [j0, j0 + 16) of a tile (T: float, or std::uint16_t for f16).
// `ahead`, when not null: a line every other dimension asked for into L2 (the lines a later call
// reads, one request per line an f16 tile's pass reads; the `ahead` of ScoresInPlaceFn), so the
// requests are spread over the products.
template <int R, typename T>
void scores_block(const float* q, std::size_t dim, const T* kt, std::size_t j0, float* s, const char* ahead) {
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (std::size_t d = 0; d < dim; ++d) {
    if (ahead != nullptr && d % 2 == 0) _mm_prefetch(ahead + d * 32, _MM_HINT_T1);
    const __m256 k0 = load8(kt + d * kKeyTile + j0);
    const __m256 k1 = load8(kt + d * kKeyTile + j0 + 8);
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(q + r * dim + d);
      acc[r][0] = _mm256_fmadd_ps(x, k0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, k1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(s + r * kKeyTile + j0, acc[r][0]);
    _mm256_storeu_ps(s + r * kKeyTile + j0 + 8, acc[r][1]);
  }
}

// `ahead`, when not null: dim·128 bytes (an f16 tile's), a quarter asked for by each block of keys.
template <int R, typename T>
void scores_rows(const float* q, std::size_t dim, const T* kt, float* s, const char* ahead) {
  for (std::size_t j0 = 0; j0 < kKeyTile; j0 += 16)
    scores_block<R>(q, dim, kt, j0, s, ahead != nullptr ? ahead + j0 / 16 * dim * 32 : nullptr);
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

// R query rows against keys [j0, j0 + 16) of a q8_0 tile, read in place: each key's floats are
// its block's scale times its codes, the product load_keys_q8_0 stores, so the same terms in the
// same order as converting the tile first. `ahead`, when not null: the block's share of a tile
// (dim·17 bytes), about a line every four dimensions asked for into L2.
template <int R>
void scores_block_q8(const float* q, std::size_t dim, const std::uint8_t* tile, std::size_t j0, float* s,
                     const char* ahead) {
  const std::uint8_t* codes = tile + dim / kQ8Block * kKeyTile * 2;
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (std::size_t b = 0; b < dim / kQ8Block; ++b) {
    const std::uint8_t* scales = tile + (b * kKeyTile + j0) * 2;
    const __m256 scale0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales)));
    const __m256 scale1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + 16)));
    for (std::size_t d = b * kQ8Block; d < (b + 1) * kQ8Block; ++d) {
      if (ahead != nullptr && d % 4 == 0) _mm_prefetch(ahead + d * 16, _MM_HINT_T1);
      const std::uint8_t* k = codes + d * kKeyTile + j0;
      const __m256 k0 = _mm256_mul_ps(
          scale0,
          _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(k)))));
      const __m256 k1 = _mm256_mul_ps(
          scale1,
          _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(k + 8)))));
      for (int r = 0; r < R; ++r) {
        const __m256 x = _mm256_broadcast_ss(q + r * dim + d);
        acc[r][0] = _mm256_fmadd_ps(x, k0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(x, k1, acc[r][1]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(s + r * kKeyTile + j0, acc[r][0]);
    _mm256_storeu_ps(s + r * kKeyTile + j0 + 8, acc[r][1]);
  }
}

template <int R>
void scores_rows(const float* q, std::size_t dim, const Q8Tile* q8_tile, float* s, const char* ahead) {
  const auto* tile = reinterpret_cast<const std::uint8_t*>(q8_tile);
  for (std::size_t j0 = 0; j0 < kKeyTile; j0 += 16)
    scores_block_q8<R>(q, dim, tile, j0, s, ahead != nullptr ? ahead + j0 / 16 * dim * 17 : nullptr);
}

void scores_q8_0(const float* q, std::size_t rows, std::size_t dim, const std::uint8_t* tile, float* s,
                 const std::uint8_t* ahead) {
  scores_of(q, rows, dim, reinterpret_cast<const Q8Tile*>(tile), s, reinterpret_cast<const char*>(ahead));
}

void softmax_step(float* s, std::size_t rows, float* row_max, float* row_sum, float* acc, std::size_t dim_v) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  constexpr std::size_t kVectors = kKeyTile / 8;
  for (std::size_t m = 0; m < rows; ++m) {
    float* row = s + m * kKeyTile;
    __m256 wide_max = _mm256_loadu_ps(row);
    for (std::size_t c = 1; c < kVectors; ++c)
      wide_max = _mm256_max_ps(wide_max, _mm256_loadu_ps(row + c * 8));
    const float new_max = std::max(row_max[m], hmax(wide_max));
    if (new_max == kNegInf) {
      std::fill(row, row + kKeyTile, 0.0f);
      continue;
    }
    // exp(old − new) in the same arithmetic as the weights (1 exactly when the maximum stays, 0
    // for a row's first visible keys).
    const float factor = _mm256_cvtss_f32(exp_nonpositive(_mm256_set1_ps(row_max[m] - new_max)));
    const __m256 shift = _mm256_set1_ps(new_max);
    __m256 sum = _mm256_setzero_ps();
    for (std::size_t c = 0; c < kVectors; ++c) {
      const __m256 p = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(row + c * 8), shift));
      _mm256_storeu_ps(row + c * 8, p);
      sum = _mm256_add_ps(sum, p);
    }
    row_sum[m] = row_sum[m] * factor + hsum(sum);
    if (factor != 1.0f) {
      const __m256 f = _mm256_set1_ps(factor);
      float* a = acc + m * dim_v;
      std::size_t d = 0;
      for (; d + 8 <= dim_v; d += 8) _mm256_storeu_ps(a + d, _mm256_mul_ps(f, _mm256_loadu_ps(a + d)));
      for (; d < dim_v; ++d) a[d] *= factor;
    }
    row_max[m] = new_max;
  }
}

// The value rows accumulate reads: n rows of floats, dim_v apart in the thread's buffer, or of
// f16 values or q8_0 blocks straight from the cache, row_bytes apart. load8 gives dimensions
// [d, d + 8) of row j (d a multiple of 8), value one of them. kAheadBytes: the cache bytes of one
// row's 16 dimensions, what accumulate asks for per key.
struct FloatRows {
  static constexpr std::size_t kAheadBytes = 0;  // (never read from the cache)
  const float* v;
  std::size_t dim_v;
  const float* row(std::size_t j) const { return v + j * dim_v; }
  __m256 load8(std::size_t j, std::size_t d) const { return _mm256_loadu_ps(row(j) + d); }
  float value(std::size_t j, std::size_t d) const { return row(j)[d]; }
};
struct F16Rows {
  static constexpr std::size_t kAheadBytes = 32;
  const std::uint8_t* rows;
  std::size_t row_bytes;
  const std::uint16_t* row(std::size_t j) const {
    return reinterpret_cast<const std::uint16_t*>(rows + j * row_bytes);
  }
  __m256 load8(std::size_t j, std::size_t d) const {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row(j) + d)));
  }
  float value(std::size_t j, std::size_t d) const { return _cvtsh_ss(row(j)[d]); }
};
// Each value is its block's scale times its code, the product load_values_q8_0 stores.
struct Q8Rows {
  static constexpr std::size_t kAheadBytes = 17;
  const std::uint8_t* rows;
  std::size_t row_bytes;
  const std::uint8_t* block(std::size_t j, std::size_t d) const {
    return rows + j * row_bytes + d / kQ8Block * 34;
  }
  __m256 load8(std::size_t j, std::size_t d) const {
    const std::uint8_t* b = block(j, d);
    const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 2 + d % kQ8Block));
    return _mm256_mul_ps(_mm256_set1_ps(half_at(b)), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
  }
  float value(std::size_t j, std::size_t d) const {
    const std::uint8_t* b = block(j, d);
    return half_at(b) * static_cast<float>(static_cast<std::int8_t>(b[2 + d % kQ8Block]));
  }
};

// R rows of weights times the n value rows, into dimensions [d0, d0 + 16) of R accumulator rows.
// `ahead`, when not null: n·Rows::kAheadBytes bytes, a line every 64 / kAheadBytes keys asked for.
template <int R, typename Rows>
void accumulate_block(const float* p, std::size_t n, const Rows& v, std::size_t dim_v, std::size_t d0,
                      float* acc, const char* ahead) {
  __m256 sum[R][2];
  for (int r = 0; r < R; ++r) {
    sum[r][0] = _mm256_loadu_ps(acc + r * dim_v + d0);
    sum[r][1] = _mm256_loadu_ps(acc + r * dim_v + d0 + 8);
  }
  for (std::size_t j = 0; j < n; ++j) {
    constexpr std::size_t kKeysPerLine = Rows::kAheadBytes == 0 ? 1 : 64 / Rows::kAheadBytes;
    if (ahead != nullptr && j % kKeysPerLine == 0) _mm_prefetch(ahead + j / kKeysPerLine * 64, _MM_HINT_T1);
    const __m256 x0 = v.load8(j, d0);
    const __m256 x1 = v.load8(j, d0 + 8);
    for (int r = 0; r < R; ++r) {
      const __m256 w = _mm256_broadcast_ss(p + r * kKeyTile + j);
      sum[r][0] = _mm256_fmadd_ps(w, x0, sum[r][0]);
      sum[r][1] = _mm256_fmadd_ps(w, x1, sum[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(acc + r * dim_v + d0, sum[r][0]);
    _mm256_storeu_ps(acc + r * dim_v + d0 + 8, sum[r][1]);
  }
}

// Dimensions the 16-wide blocks leave over, one at a time in the same order of keys.
template <typename Rows>
void accumulate_tail(const float* p, std::size_t rows, std::size_t n, const Rows& v, std::size_t dim_v,
                     std::size_t d0, float* acc) {
  for (std::size_t m = 0; m < rows; ++m) {
    for (std::size_t d = d0; d < dim_v; ++d) {
      float sum = acc[m * dim_v + d];
      for (std::size_t j = 0; j < n; ++j) sum = std::fma(p[m * kKeyTile + j], v.value(j, d), sum);
      acc[m * dim_v + d] = sum;
    }
  }
}

// `ahead`, when not null: n·Rows::kAheadBytes bytes for each 16 dimensions (as many as the n
// value rows hold).
template <int R, typename Rows>
void accumulate_rows(const float* p, std::size_t n, const Rows& v, std::size_t dim_v, float* acc,
                     const char* ahead) {
  for (std::size_t d0 = 0; d0 + 16 <= dim_v; d0 += 16)
    accumulate_block<R>(p, n, v, dim_v, d0, acc,
                        ahead != nullptr ? ahead + d0 / 16 * n * Rows::kAheadBytes : nullptr);
}

template <typename Rows>
void accumulate_of(const float* p, std::size_t rows, std::size_t n, const Rows& v, std::size_t dim_v,
                   float* acc, const char* ahead) {
  std::size_t m = 0;
  // (The first pass over the values asks for `ahead`.)
  for (; m + 4 <= rows; m += 4, ahead = nullptr)
    accumulate_rows<4>(p + m * kKeyTile, n, v, dim_v, acc + m * dim_v, ahead);
  switch (rows - m) {
    case 3:
      accumulate_rows<3>(p + m * kKeyTile, n, v, dim_v, acc + m * dim_v, ahead);
      break;
    case 2:
      accumulate_rows<2>(p + m * kKeyTile, n, v, dim_v, acc + m * dim_v, ahead);
      break;
    case 1:
      accumulate_rows<1>(p + m * kKeyTile, n, v, dim_v, acc + m * dim_v, ahead);
      break;
    default:
      break;
  }
  if (dim_v % 16 != 0) accumulate_tail(p, rows, n, v, dim_v, dim_v / 16 * 16, acc);
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

AttentionKernels avx2_attention_kernels() {
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
