// kernels/avx512/int_panels: the integer matmul of the AVX-512 variant, shared by every weight type
// with 8-bit activations.
//
// The vector lanes run over 16 weight rows. A block of 16 rows is first unpacked into a "panel":
// per 4 columns, the 16 rows' codes side by side (64 bytes), and per weight group the 16 rows'
// scales. vpdpbusd then meets a panel vector with one token's 4 activation bytes broadcast from
// the activation row itself, so a lane ends a group holding one (row, token) pair's whole integer
// dot product, and the group's float work (scale, offset) is done for 16 pairs at once. With many
// tokens a panel is built once per 16 rows and reused by every token, a few tokens in flight per
// panel vector; with one token it is built a few blocks at a time just before use, so it never
// leaves the L1 cache. The activations need no copy. Both run the same arithmetic.
//
// Building a panel reads 16 rows' blocks as dwords with the rows in the lanes, then unpacks codes
// and scales for the 16 rows at once (see the types' builders in legacy_avx512.cpp and
// kquants_avx512.cpp). Weights repacked at load time (panel_layout.hpp) already have the rows in
// the lanes: a dword of 16 rows is one vector load. Otherwise it is gathered from the rows and
// transposed, which costs more than the products in a one-token call. A builder is written once
// against a row source (RowSource or PanelSource) and unpacks the same bytes either way.
//
// vpdpbusd multiplies unsigned by signed bytes: the weights are unsigned (code + bias), the
// activations signed, and the bias is taken off exactly, in integers, with the activations' sums
// (Σ (w + B)·a − B·Σa = Σ w·a), which are computed once per call per token.
//
// Each (row, token) pair follows one fixed sequence of float operations, whatever else shares the
// call (the kernel table's contract). Per 32 columns j (one activation scale d_j) and each weight
// group g in them (one or two):
//   I = Σ w·a (exact)     s = float(I)·ws[g] for the first group, else fma(float(I), ws[g], s)
//   [types with a group offset: s = fma(wm[g], float(Σa over g), s)]
//   f = fma(s, d_j, f)    [Q4_1/Q5_1: f = fma(wm, d·Σa of the block, f)]
// Panels of fewer than 16 real rows are padded with zero rows, whose lanes are not stored.
#pragma once

#include <type_traits>

#include "kernels/activations.hpp"
#include "kernels/avx512/common.hpp"
#include "kernels/kernel_table.hpp"
#include "kernels/matmul.hpp"
#include "kernels/panel_layout.hpp"

namespace pensieve::kernels::avx512 {
namespace {

// How a weight type's blocks meet the activations.
struct IntScheme {
  std::size_t block_values;  // values per stored block: 32 or 256
  std::size_t block_bytes;
  std::size_t group_values;  // values sharing one weight scale: 32 or 16
  int bias;                  // unpacked code = signed code + bias, so that it is 0..255
  bool group_min;            // K-quants: an offset wm per group, times the group's Σa
  bool block_min;            // Q4_1/Q5_1: an offset wm per block, times the block's d·Σa
  bool act256;               // ActBlock256 activations (else ActBlock32)
};

// The 16 weight rows of a panel: row r at base + r·row_bytes (r < n; the others read as zero).
struct RowBlock {
  const std::uint8_t* base;
  std::size_t row_bytes;
  std::size_t n;
  __m512i gather_index;  // r·row_bytes in lane r
  __mmask16 valid;       // lanes of real rows
};

static_assert(kPanelRows == 16, "a panel's rows are the 16 lanes of a vector");
constexpr std::size_t kBlockPanels = 4;  // panels built together (64 rows, the driver's task unit)
constexpr std::size_t kPrefillPanels = 2;
constexpr std::size_t kPrefillTokens = 6;
// One panel at a time: each thread reads one sequential stream (four interleaved ones left the
// memory idle more often).
constexpr std::size_t kDecodePanels = 1;
// Decode streams each thread's panels from memory once: the hardware prefetchers alone leave
// the core waiting, so the kernels ask for the lines a few blocks ahead, into the L2 cache (as far
// as its queue allows; measured with bench/kernels: 4 blocks of 16 rows, L2).
constexpr std::size_t kDecodePrefetchBlocks = 4;

inline void prefetch_ahead(const std::uint8_t* from, std::size_t bytes) {
  for (std::size_t line = 0; line < bytes; line += 64)
    _mm_prefetch(reinterpret_cast<const char*>(from + line), _MM_HINT_T1);
}

// The other way: a few lines at a time, spread over the steps of a unit of words, each line
// `distance` bytes ahead of the unit, into L1. Which way is faster depends on the type and the
// CPU (see DecodeLegacy).
inline void prefetch_step(const std::uint8_t* words, std::size_t distance, std::size_t lines,
                          std::size_t step, std::size_t steps) {
  for (std::size_t line = step * lines / steps; line < (step + 1) * lines / steps; ++line)
    _mm_prefetch(reinterpret_cast<const char*>(words + distance + line * 64), _MM_HINT_T0);
}

template <const IntScheme& kS>
constexpr std::size_t kQuads = kS.group_values / 4;
template <const IntScheme& kS>
constexpr bool kHasMin = kS.group_min || kS.block_min;
// Bytes of one group in a panel: codes, then 16 scales, then 16 offsets.
template <const IntScheme& kS>
constexpr std::size_t kGroupStride = kQuads<kS> * 64 + 64 + (kHasMin<kS> ? 64 : 0);

// Where the codes and the scale of the 32 activation values from column c (a multiple of 32) are
// in an activation row.
template <const IntScheme& kS>
inline std::size_t act_codes(std::size_t c) {
  if constexpr (kS.act256) return c / 256 * sizeof(ActBlock256) + c % 256;
  return c / 32 * sizeof(ActBlock32);
}
template <const IntScheme& kS>
inline std::size_t act_scale(std::size_t c) {
  if constexpr (kS.act256) return c / 256 * sizeof(ActBlock256) + offsetof(ActBlock256, d) + c % 256 / 32 * 4;
  return c / 32 * sizeof(ActBlock32) + offsetof(ActBlock32, d);
}

// Per token and group, what the kernel broadcasts besides codes and scales: the bias correction
// −B·Σa (int32), or the group's Σa (float) for group offsets.
template <const IntScheme& kS>
constexpr bool kHasAux = kS.bias != 0 || kS.group_min;

// Transposes 8 vectors of 8 dwords in each 256-bit half: afterwards r[e] holds, in half h, lane k,
// what r[k] held in half h, element e.
inline void transpose_8x8_halves(__m512i r[8]) {
  __m512i t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[0..3]: rows 0-3 of elements (0, 4), (1, 5), (2, 6), (3, 7); u[4..7]: rows 4-7 of the same.
  for (int i = 0; i < 2; ++i) {
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  // 128-bit lanes of u[i]: (low half, element e), (low, e + 4), (high, e), (high, e + 4).
  const __m512i first = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
  const __m512i second = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
  for (int e = 0; e < 4; ++e) {
    r[e] = _mm512_permutex2var_epi64(u[e], first, u[e + 4]);
    r[e + 4] = _mm512_permutex2var_epi64(u[e], second, u[e + 4]);
  }
}

inline RowBlock row_block(const WeightMatrix& w, std::size_t row0, std::size_t n) {
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return {w.data + row0 * w.row_bytes, w.row_bytes, n,
          _mm512_mullo_epi32(lanes, _mm512_set1_epi32(static_cast<int>(w.row_bytes))),
          static_cast<__mmask16>((1u << n) - 1)};
}

// 16 (32) bytes of row r from `offset`, or zero for a padding row. kFull: all 16 rows are real.
template <bool kFull>
inline __m128i row_bytes16(const RowBlock& rb, std::size_t r, std::size_t offset) {
  if (!kFull && r >= rb.n) return _mm_setzero_si128();
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(rb.base + r * rb.row_bytes + offset));
}
template <bool kFull>
inline __m256i row_bytes32(const RowBlock& rb, std::size_t r, std::size_t offset, __mmask32 mask) {
  if (!kFull && r >= rb.n) return _mm256_setzero_si256();
  const std::uint8_t* p = rb.base + r * rb.row_bytes + offset;
  if (mask == ~__mmask32(0)) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm256_maskz_loadu_epi8(mask, p);
}

// Eight dwords of every row, lanes = rows: z[e] lane r = dword e of row r's 32 bytes at
// `offset`, of which only the bytes in `mask` are read (the rest are zero), so nothing past a
// row's last block is touched.
template <bool kFull>
inline void load_dwords8(const RowBlock& rb, std::size_t offset, __mmask32 mask, __m512i z[8]) {
#pragma GCC unroll 8
  for (std::size_t k = 0; k < 8; ++k) {
    z[k] = combine(row_bytes32<kFull>(rb, k, offset, mask), row_bytes32<kFull>(rb, k + 8, offset, mask));
  }
  transpose_8x8_halves(z);
}

// The same from two separate 16-byte runs: z[0..3] from `first`, z[4..7] from `second` (two
// blocks' codes of the 32-value types). has_second false: z[4..7] zero.
template <bool kFull>
inline void load_dwords4x2(const RowBlock& rb, std::size_t first, std::size_t second, bool has_second,
                           __m512i z[8]) {
#pragma GCC unroll 8
  for (std::size_t k = 0; k < 8; ++k) {
    __m256i half[2];
#pragma GCC unroll 2
    for (std::size_t h = 0; h < 2; ++h) {
      const std::size_t r = k + 8 * h;
      const __m128i a = row_bytes16<kFull>(rb, r, first);
      const __m128i b = has_second ? row_bytes16<kFull>(rb, r, second) : _mm_setzero_si128();
      half[h] = _mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1);
    }
    z[k] = combine(half[0], half[1]);
  }
  transpose_8x8_halves(z);
}

// One dword of every row at `offset` (any alignment), lanes = rows; zero for padding rows.
inline __m512i gather_dword(const RowBlock& rb, std::size_t offset) {
  return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), rb.valid, rb.gather_index, rb.base + offset, 1);
}

// fp16 in the low (high) half of each dword, as float.
inline __m512 f16_low(__m512i v) {
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}
inline __m512 f16_high(__m512i v) {
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(v, 16)));
}

// Storing the parts of group g (counted from `groups`) in a panel.
template <const IntScheme& kS>
inline void store_quad(std::uint8_t* groups, std::size_t g, std::size_t quad, __m512i codes) {
  _mm512_store_si512(groups + g * kGroupStride<kS> + quad * 64, codes);
}
template <const IntScheme& kS>
inline void store_scale(std::uint8_t* groups, std::size_t g, __m512 ws) {
  _mm512_store_ps(groups + g * kGroupStride<kS> + kQuads<kS> * 64, ws);
}
template <const IntScheme& kS>
inline void store_offset(std::uint8_t* groups, std::size_t g, __m512 wm) {
  _mm512_store_ps(groups + g * kGroupStride<kS> + kQuads<kS> * 64 + 64, wm);
}

// The 16 rows of a panel as the builders read them, from the rows themselves: every dword is
// gathered and transposed. kFull: all 16 rows are real (no per-row test).
template <bool kFull>
struct RowSource {
  RowBlock rows;
  // Dwords k = 0..7 from byte `offset` of each row (only the bytes in `mask`, the rest zero).
  void dwords8(std::size_t offset, __mmask32 mask, __m512i z[8]) const {
    load_dwords8<kFull>(rows, offset, mask, z);
  }
  // Dwords 0..3 from `first` in z[0..3] and from `second` in z[4..7] (zero if !has_second).
  void dwords4x2(std::size_t first, std::size_t second, bool has_second, __m512i z[8]) const {
    load_dwords4x2<kFull>(rows, first, second, has_second, z);
  }
  __m512i dword(std::size_t offset) const { return gather_dword(rows, offset); }
};

// The dword at byte `offset` of a panel's 16 rows, with offset % 4 == kShift / 8 known at compile
// time (blocks of 210, 34 or 18 bytes: every other one starts 2 bytes into a word).
template <unsigned kShift>
inline __m512i panel_dword(const std::uint8_t* panel, std::size_t offset) {
  const std::uint8_t* p = panel + offset / 4 * 64;
  if constexpr (kShift == 0) {
    return _mm512_load_si512(p);
  } else if constexpr (kShift == 16) {
    // The high half of this word, then the low half of the next: both words rotated by 16 and
    // blended by halves, so that in a run of words each rotation serves two (the compiler shares
    // them), two instructions a word instead of three.
    return _mm512_mask_blend_epi16(0xaaaaaaaau, _mm512_rol_epi32(_mm512_load_si512(p), 16),
                                   _mm512_rol_epi32(_mm512_load_si512(p + 64), 16));
  } else {
    return _mm512_or_si512(_mm512_srli_epi32(_mm512_load_si512(p), kShift),
                           _mm512_slli_epi32(_mm512_load_si512(p + 64), 32 - kShift));
  }
}

// The same from a repacked panel (panel_layout.hpp): the dword at byte `offset` of the 16 rows is
// one vector, or two shifted together when `offset` is not a multiple of 4. Padding rows are zero
// in the panel; words past a row's end may be read (the panels have slack) but are not used.
struct PanelSource {
  const std::uint8_t* panel;

  __m512i dword(std::size_t offset) const {
    switch (offset % 4) {
      case 0:
        return panel_dword<0>(panel, offset);
      case 1:
        return panel_dword<8>(panel, offset);
      case 2:
        return panel_dword<16>(panel, offset);
      default:
        return panel_dword<24>(panel, offset);
    }
  }
  void dwords8(std::size_t offset, __mmask32 mask, __m512i z[8]) const {
    // The masks are prefixes: bytes [0, n) of the 32.
    const unsigned n = static_cast<unsigned>(__builtin_popcount(mask));
#pragma GCC unroll 8
    for (unsigned k = 0; k < 8; ++k) {
      if (4 * k >= n) {
        z[k] = _mm512_setzero_si512();
      } else {
        z[k] = dword(offset + 4 * k);
        if (n - 4 * k < 4)
          z[k] = _mm512_and_si512(z[k], _mm512_set1_epi32(static_cast<int>((1u << (8 * (n - 4 * k))) - 1)));
      }
    }
  }
  void dwords4x2(std::size_t first, std::size_t second, bool has_second, __m512i z[8]) const {
#pragma GCC unroll 4
    for (std::size_t k = 0; k < 4; ++k) {
      z[k] = dword(first + 4 * k);
      z[4 + k] = has_second ? dword(second + 4 * k) : _mm512_setzero_si512();
    }
  }
};

// Builds from the rows of rb with the source that suits it. A weight type's builder B is a
// function object type, B{}(const auto& src, std::size_t begin, std::size_t end, std::uint8_t*
// groups): the part of the 16 rows' panel for stored blocks [begin, end), to `groups` (where the
// first group of block `begin` goes).
template <class B>
void build_from_rows(const RowBlock& rb, std::size_t begin, std::size_t end, std::uint8_t* groups) {
  if (rb.n == kPanelRows) {
    B{}(RowSource<true>{rb}, begin, end, groups);
  } else {
    B{}(RowSource<false>{rb}, begin, end, groups);
  }
}

// Low and high nibbles of each byte.
inline __m512i low_nibbles(__m512i v) {
  return _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
}
inline __m512i high_nibbles(__m512i v) {
  return _mm512_and_si512(_mm512_srli_epi32(v, 4), _mm512_set1_epi8(0x0f));
}

// Σ q of each 32-value block of an ActBlock32 row, 16 blocks at a time: a vector of two blocks'
// codes is summed by fours (vpdpbusd with ones), then pairs of lanes are added until each lane
// holds one block.
inline __m512i pair_sums(__m512i x, __m512i y) {
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  return _mm512_add_epi32(_mm512_permutex2var_epi32(x, even, y), _mm512_permutex2var_epi32(x, odd, y));
}

inline __m512i block_sums_16(const std::uint8_t* blocks) {
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i v[8];
  for (std::size_t k = 0; k < 8; ++k) {
    const std::uint8_t* p = blocks + 2 * k * sizeof(ActBlock32);
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + sizeof(ActBlock32)));
    v[k] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, combine(lo, hi));
  }
  for (std::size_t k = 0; k < 4; ++k) v[k] = pair_sums(v[2 * k], v[2 * k + 1]);
  for (std::size_t k = 0; k < 2; ++k) v[k] = pair_sums(v[2 * k], v[2 * k + 1]);
  return pair_sums(v[0], v[1]);
}

// The per-group values of one token (see kHasAux): `groups` int32 or float.
template <const IntScheme& kS>
void token_aux(const std::uint8_t* row, std::size_t cols, std::uint8_t* aux) {
  const std::size_t groups = cols / kS.group_values;
  if constexpr (kS.act256) {
    for (std::size_t b = 0; b < cols / 256; ++b) {
      const auto* sums =
          reinterpret_cast<const __m256i*>(row + b * sizeof(ActBlock256) + offsetof(ActBlock256, sums));
      const __m512i s16 = _mm512_cvtepi16_epi32(_mm256_loadu_si256(sums));
      if constexpr (kS.group_values == 16) {  // Q6_K: −bias · Σa per 16 values
        _mm512_storeu_si512(aux + b * 64, _mm512_mullo_epi32(s16, _mm512_set1_epi32(-kS.bias)));
      } else {  // Q4_K, Q5_K: Σa per 32 values, as float
        const __m256i s32 = _mm256_madd_epi16(_mm256_loadu_si256(sums), _mm256_set1_epi16(1));
        _mm256_storeu_ps(reinterpret_cast<float*>(aux) + b * 8, _mm256_cvtepi32_ps(s32));
      }
    }
  } else {
    // −bias · Σq per block.
    const __m512i neg_bias = _mm512_set1_epi32(-kS.bias);
    std::size_t b = 0;
    for (; b + 16 <= groups; b += 16) {
      _mm512_storeu_si512(aux + b * 4,
                          _mm512_mullo_epi32(block_sums_16(row + b * sizeof(ActBlock32)), neg_bias));
    }
    for (; b < groups; ++b) {
      const auto* q = reinterpret_cast<const std::int8_t*>(row + b * sizeof(ActBlock32));
      int sum = 0;
      for (std::size_t i = 0; i < 32; ++i) sum += q[i];
      const std::int32_t corr = -kS.bias * sum;
      std::memcpy(aux + b * 4, &corr, sizeof corr);
    }
  }
}

// Adds columns [c_begin, c_end) (whole groups) of kP panels (stride panel_bytes; `groups` is where
// the group of column c_begin is) against the kT tokens from t0 of x to f[panel][token].
template <const IntScheme& kS, std::size_t kP, std::size_t kT>
inline void accumulate(const std::uint8_t* groups, std::size_t panel_bytes, const Activations& x,
                       std::size_t t0, const std::uint8_t* aux, std::size_t aux_stride, std::size_t c_begin,
                       std::size_t c_end, __m512 (&f)[kP][kT]) {
  constexpr std::size_t kGV = kS.group_values, kGS = kGroupStride<kS>, kQ = kQuads<kS>;
  constexpr std::size_t kGroupsPerRun = 32 / kGV;
  const std::uint8_t* act[kT];
  const std::uint8_t* tok_aux[kT] = {};
#pragma GCC unroll 8
  for (std::size_t t = 0; t < kT; ++t) {
    act[t] = x.data + (t0 + t) * x.stride;
    if constexpr (kHasAux<kS>) tok_aux[t] = aux + (t0 + t) * aux_stride;
  }
  const std::size_t g_begin = c_begin / kGV;
  for (std::size_t c = c_begin; c < c_end; c += 32) {
    const std::size_t codes_at = act_codes<kS>(c);
    __m512 s[kP][kT];
#pragma GCC unroll 2
    for (std::size_t h = 0; h < kGroupsPerRun; ++h) {
      const std::size_t g = c / kGV + h;
      const std::uint8_t* pg = groups + (g - g_begin) * kGS;
      // With few tokens the sums are split over two accumulators (even and odd quads, added
      // exactly at the end), so that enough independent vpdpbusd chains hide its latency.
      constexpr std::size_t kSplit = kP * kT < 8 ? 2 : 1;
      __m512i acc[kSplit][kP][kT];
#pragma GCC unroll 8
      for (std::size_t t = 0; t < kT; ++t) {
        __m512i init = _mm512_setzero_si512();
        if constexpr (kS.bias != 0) init = _mm512_set1_epi32(static_cast<int>(load_u32(tok_aux[t] + 4 * g)));
#pragma GCC unroll 8
        for (std::size_t p = 0; p < kP; ++p) {
          acc[0][p][t] = init;
          if constexpr (kSplit == 2) acc[kSplit - 1][p][t] = _mm512_setzero_si512();
        }
      }
#pragma GCC unroll 8
      for (std::size_t j = 0; j < kQ; ++j) {
        __m512i wv[kP];
#pragma GCC unroll 8
        for (std::size_t p = 0; p < kP; ++p) wv[p] = _mm512_load_si512(pg + p * panel_bytes + 64 * j);
#pragma GCC unroll 8
        for (std::size_t t = 0; t < kT; ++t) {
          const __m512i a =
              _mm512_set1_epi32(static_cast<int>(load_u32(act[t] + codes_at + h * kGV + 4 * j)));
#pragma GCC unroll 8
          for (std::size_t p = 0; p < kP; ++p)
            acc[j % kSplit][p][t] = _mm512_dpbusd_epi32(acc[j % kSplit][p][t], wv[p], a);
        }
      }
      if constexpr (kSplit == 2) {
#pragma GCC unroll 8
        for (std::size_t p = 0; p < kP; ++p) {
#pragma GCC unroll 8
          for (std::size_t t = 0; t < kT; ++t) acc[0][p][t] = _mm512_add_epi32(acc[0][p][t], acc[1][p][t]);
        }
      }
#pragma GCC unroll 8
      for (std::size_t p = 0; p < kP; ++p) {
        const __m512 ws = _mm512_load_ps(pg + p * panel_bytes + kQ * 64);
#pragma GCC unroll 8
        for (std::size_t t = 0; t < kT; ++t) {
          const __m512 dot = _mm512_cvtepi32_ps(acc[0][p][t]);
          s[p][t] = h == 0 ? _mm512_mul_ps(dot, ws) : _mm512_fmadd_ps(dot, ws, s[p][t]);
        }
      }
      if constexpr (kS.group_min) {
#pragma GCC unroll 8
        for (std::size_t p = 0; p < kP; ++p) {
          const __m512 wm = _mm512_load_ps(pg + p * panel_bytes + kQ * 64 + 64);
#pragma GCC unroll 8
          for (std::size_t t = 0; t < kT; ++t) {
            s[p][t] = _mm512_fmadd_ps(wm, _mm512_set1_ps(load_f32(tok_aux[t] + 4 * g)), s[p][t]);
          }
        }
      }
    }
    const std::size_t scale_at = act_scale<kS>(c);
#pragma GCC unroll 8
    for (std::size_t t = 0; t < kT; ++t) {
      const __m512 d = _mm512_set1_ps(load_f32(act[t] + scale_at));
#pragma GCC unroll 8
      for (std::size_t p = 0; p < kP; ++p) f[p][t] = _mm512_fmadd_ps(s[p][t], d, f[p][t]);
    }
    if constexpr (kS.block_min) {
      const std::uint8_t* pg = groups + (c / kGV - g_begin) * kGS;
#pragma GCC unroll 8
      for (std::size_t p = 0; p < kP; ++p) {
        const __m512 wm = _mm512_load_ps(pg + p * panel_bytes + kQ * 64 + 64);
#pragma GCC unroll 8
        for (std::size_t t = 0; t < kT; ++t) {
          const __m512 d_sum = _mm512_set1_ps(
              load_f32(act[t] + scale_at + offsetof(ActBlock32, d_sum) - offsetof(ActBlock32, d)));
          f[p][t] = _mm512_fmadd_ps(wm, d_sum, f[p][t]);
        }
      }
    }
  }
}

template <std::size_t kP, std::size_t kT>
inline void store_results(const __m512 (&f)[kP][kT], float* out, std::size_t out_stride,
                          const __mmask16* masks) {
#pragma GCC unroll 8
  for (std::size_t p = 0; p < kP; ++p) {
#pragma GCC unroll 8
    for (std::size_t t = 0; t < kT; ++t)
      _mm512_mask_storeu_ps(out + t * out_stride + 16 * p, masks[p], f[p][t]);
  }
}

// kP whole panels (stride panel_bytes) against the kT tokens from t0 of x; results of panel p,
// token t to out + t·out_stride + 16p under masks[p].
template <const IntScheme& kS, std::size_t kP, std::size_t kT>
void panel_product(const std::uint8_t* panels, std::size_t panel_bytes, const Activations& x, std::size_t t0,
                   const std::uint8_t* aux, std::size_t aux_stride, float* out, std::size_t out_stride,
                   const __mmask16* masks) {
  __m512 f[kP][kT];
#pragma GCC unroll 8
  for (std::size_t p = 0; p < kP; ++p) {
#pragma GCC unroll 8
    for (std::size_t t = 0; t < kT; ++t) f[p][t] = _mm512_setzero_ps();
  }
  accumulate<kS, kP, kT>(panels, panel_bytes, x, t0, aux, aux_stride, 0, x.cols, f);
  store_results(f, out, out_stride, masks);
}

// Runs panel_product with kP panels over `tokens` (1..kPrefillTokens) tokens from t0.
template <const IntScheme& kS, std::size_t kP>
void panel_product_n(std::size_t tokens, const std::uint8_t* panels, std::size_t panel_bytes,
                     const Activations& x, std::size_t t0, const std::uint8_t* aux, std::size_t aux_stride,
                     float* out, std::size_t out_stride, const __mmask16* masks) {
  static_assert(kPrefillTokens <= 6);
  switch (tokens) {
    case 1:
      return panel_product<kS, kP, 1>(panels, panel_bytes, x, t0, aux, aux_stride, out, out_stride, masks);
    case 2:
      return panel_product<kS, kP, 2>(panels, panel_bytes, x, t0, aux, aux_stride, out, out_stride, masks);
    case 3:
      return panel_product<kS, kP, 3>(panels, panel_bytes, x, t0, aux, aux_stride, out, out_stride, masks);
    case 4:
      return panel_product<kS, kP, 4>(panels, panel_bytes, x, t0, aux, aux_stride, out, out_stride, masks);
    case 5:
      return panel_product<kS, kP, (kPrefillTokens >= 5 ? 5 : 1)>(panels, panel_bytes, x, t0, aux, aux_stride,
                                                                  out, out_stride, masks);
    default:
      return panel_product<kS, kP, kPrefillTokens>(panels, panel_bytes, x, t0, aux, aux_stride, out,
                                                   out_stride, masks);
  }
}

// One token against all panels of 16 rows from r0 (up to kDecodePanels), building each panel a
// few blocks at a time just before use, so the panel never leaves the L1 cache. kPacked: from the
// repacked panels (r0 is then a multiple of 16).
template <const IntScheme& kS, class B, bool kPacked>
void decode_rows(const WeightMatrix& w, std::size_t r0, std::size_t rows, const Activations& x,
                 const std::uint8_t* aux, std::uint8_t* chunk, float* out) {
  constexpr std::size_t kChunkBlocks = 256 / kS.block_values;  // 256 columns per chunk
  constexpr std::size_t kChunkBytes = 256 / kS.group_values * kGroupStride<kS>;
  __m512 f[kDecodePanels][1];
  __mmask16 masks[kDecodePanels];
  RowBlock blocks[kDecodePanels];
  PanelSource panels[kDecodePanels];
  const std::size_t stride = panel_stride(w.row_bytes);
  for (std::size_t p = 0; p < kDecodePanels; ++p) {
    f[p][0] = _mm512_setzero_ps();
    const std::size_t n = p * kPanelRows < rows ? min_size(kPanelRows, rows - p * kPanelRows) : 0;
    masks[p] = static_cast<__mmask16>((1u << n) - 1);
    // An empty panel reads nothing (rows) or this call's first panel (repacked), unused.
    if constexpr (kPacked) {
      panels[p] = PanelSource{w.repacked + (r0 / kPanelRows + (n > 0 ? p : 0)) * stride};
    } else {
      blocks[p] = row_block(w, n > 0 ? r0 + p * kPanelRows : 0, n);
    }
  }
  const std::size_t n_blocks = w.cols / kS.block_values;
  for (std::size_t b = 0; b < n_blocks; b += kChunkBlocks) {
    const std::size_t end = min_size(n_blocks, b + kChunkBlocks);
    for (std::size_t p = 0; p < kDecodePanels; ++p) {
      if constexpr (kPacked) {
        prefetch_ahead(panels[p].panel + (b + kDecodePrefetchBlocks) * kS.block_bytes * kPanelRows,
                       kChunkBlocks * kS.block_bytes * kPanelRows);
        B{}(panels[p], b, end, chunk + p * kChunkBytes);
      } else {
        build_from_rows<B>(blocks[p], b, end, chunk + p * kChunkBytes);
      }
    }
    accumulate<kS, kDecodePanels, 1>(chunk, kChunkBytes, x, 0, aux, 0, b * kS.block_values,
                                     end * kS.block_values, f);
  }
  store_results(f, out + r0, 0, masks);
}

// kT tokens from t0 against one repacked panel, unpacked in registers by D (see matmul_int).
template <class D, std::size_t kT>
inline void decode_panel_tokens(const std::uint8_t* panel, std::size_t cols, const Activations& x,
                                std::size_t t0, const std::uint8_t* aux, std::size_t aux_stride, float* out,
                                std::size_t out_stride, __mmask16 mask) {
  const std::uint8_t* act[kT];
  const std::uint8_t* tok_aux[kT];
  __m512 f[kT];
  for (std::size_t t = 0; t < kT; ++t) {
    act[t] = x.data + (t0 + t) * x.stride;
    tok_aux[t] = aux != nullptr ? aux + (t0 + t) * aux_stride : nullptr;
    f[t] = _mm512_setzero_ps();
  }
  D{}.template run<kT>(panel, cols, act, tok_aux, f);
  for (std::size_t t = 0; t < kT; ++t) _mm512_mask_storeu_ps(out + (t0 + t) * out_stride, mask, f[t]);
}

// decode_panel_tokens for `tokens` (1 … kT) tokens.
template <class D, std::size_t kT = D::kMaxTokens>
inline void decode_panel(std::size_t tokens, const std::uint8_t* panel, std::size_t cols,
                         const Activations& x, std::size_t t0, const std::uint8_t* aux,
                         std::size_t aux_stride, float* out, std::size_t out_stride, __mmask16 mask) {
  if constexpr (kT > 1) {
    if (tokens < kT) {
      return decode_panel<D, kT - 1>(tokens, panel, cols, x, t0, aux, aux_stride, out, out_stride, mask);
    }
  }
  decode_panel_tokens<D, kT>(panel, cols, x, t0, aux, aux_stride, out, out_stride, mask);
}

// The table entry for one type: out[t·out_stride + r] for rows [row_begin, row_end), every token.
// D (optional) computes up to D::kMaxTokens tokens against one repacked panel, unpacking it in
// registers once for all of them — D{}.run<kT>(panel, cols, activation rows, their aux, f[kT])
// — with accumulate's arithmetic (so the same bits as B's panels). It serves decoding and the
// small batches of several streams decoding together (up to D::kBatchTokens, beyond which the
// panels unpacked into memory once per 64 rows are faster): each panel is read from memory once,
// the later token groups find it in the cache.
template <const IntScheme& kS, class B, class D = void>
void matmul_int(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
                float* out, std::size_t out_stride) {
  if (row_end <= row_begin || x.rows == 0) return;
  const std::size_t groups = w.cols / kS.group_values;
  const std::size_t aux_stride = round_up(groups * 4, 64);
  std::uint8_t* aux = nullptr;
  if constexpr (kHasAux<kS>) {
    aux = scratch(0, x.rows * aux_stride);
    for (std::size_t t = 0; t < x.rows; ++t)
      token_aux<kS>(x.data + t * x.stride, x.cols, aux + t * aux_stride);
  }
  const bool packed = w.repacking == Repacking::kPanels && row_begin % kPanelRows == 0;
  constexpr std::size_t kBlockRows = kBlockPanels * kPanelRows;
  if constexpr (!std::is_void_v<D>) {
    if (x.rows <= D::kBatchTokens && packed) {
      const std::size_t stride = panel_stride(w.row_bytes);
      for (std::size_t r0 = row_begin; r0 < row_end; r0 += kPanelRows) {
        const std::size_t n = min_size(kPanelRows, row_end - r0);
        const auto mask = static_cast<__mmask16>((1u << n) - 1);
        const std::uint8_t* panel = w.repacked + r0 / kPanelRows * stride;
        for (std::size_t t0 = 0; t0 < x.rows; t0 += D::kMaxTokens) {
          decode_panel<D>(min_size(D::kMaxTokens, x.rows - t0), panel, w.cols, x, t0, aux, aux_stride,
                          out + r0, out_stride, mask);
        }
      }
      return;
    }
  }
  if (x.rows == 1) {
    std::uint8_t* chunk = scratch(1, kDecodePanels * 256 / kS.group_values * kGroupStride<kS>);
    for (std::size_t r0 = row_begin; r0 < row_end; r0 += kDecodePanels * kPanelRows) {
      const std::size_t rows = min_size(kDecodePanels * kPanelRows, row_end - r0);
      if (packed) {
        decode_rows<kS, B, true>(w, r0, rows, x, aux, chunk, out);
      } else {
        decode_rows<kS, B, false>(w, r0, rows, x, aux, chunk, out);
      }
    }
    return;
  }
  const std::size_t panel_bytes = groups * kGroupStride<kS>;
  std::uint8_t* panels = scratch(1, kBlockPanels * panel_bytes);
  const std::size_t n_blocks = w.cols / kS.block_values;
  for (std::size_t r0 = row_begin; r0 < row_end; r0 += kBlockRows) {
    const std::size_t rows = min_size(kBlockRows, row_end - r0);
    const std::size_t n_panels = (rows + kPanelRows - 1) / kPanelRows;
    __mmask16 masks[kBlockPanels];
    for (std::size_t p = 0; p < n_panels; ++p) {
      const std::size_t n = min_size(kPanelRows, rows - p * kPanelRows);
      if (packed) {
        const PanelSource src{w.repacked + (r0 / kPanelRows + p) * panel_stride(w.row_bytes)};
        B{}(src, 0, n_blocks, panels + p * panel_bytes);
      } else {
        build_from_rows<B>(row_block(w, r0 + p * kPanelRows, n), 0, n_blocks, panels + p * panel_bytes);
      }
      masks[p] = static_cast<__mmask16>((1u << n) - 1);
    }
    float* o = out + r0;
    for (std::size_t t0 = 0; t0 < x.rows; t0 += kPrefillTokens) {
      const std::size_t tokens = min_size(kPrefillTokens, x.rows - t0);
      std::size_t p = 0;
      for (; p + kPrefillPanels <= n_panels; p += kPrefillPanels) {
        panel_product_n<kS, kPrefillPanels>(tokens, panels + p * panel_bytes, panel_bytes, x, t0, aux,
                                            aux_stride, o + p * kPanelRows + t0 * out_stride, out_stride,
                                            masks + p);
      }
      for (; p < n_panels; ++p) {
        panel_product_n<kS, 1>(tokens, panels + p * panel_bytes, panel_bytes, x, t0, aux, aux_stride,
                               o + p * kPanelRows + t0 * out_stride, out_stride, masks + p);
      }
    }
  }
}

// Puts a type's matmul_int entry in the table, marking the type as read from panels (so a model
// repacks its matrices).
inline void set_panel_matmul(KernelTable& table, tensor::TensorType type, MatmulRowsFn fn) {
  table.matmul_rows[static_cast<std::size_t>(type)] = fn;
  table.repacking[static_cast<std::size_t>(type)] = Repacking::kPanels;
}

}  // namespace
}  // namespace pensieve::kernels::avx512
