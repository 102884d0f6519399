// kernels/avx2/avx2_common: helpers shared by the AVX2 translation units, and by nothing else.
// Everything here is compiled with AVX2 enabled, so no file outside kernels/avx2/ may include it:
// an inline function compiled once with and once without AVX2 could have either copy picked by
// the linker. For the same reason the AVX2 files call no inline helper of the rest of the code
// base (not even WeightMatrix::row) and instantiate no std container.
//
// The contract "a row's result does not depend on the batch" rests on one rule: each (row, input)
// pair owns its float accumulator, and every tile shape performs the same float operations on it
// in the same order. Integer partial sums are exact, so their order is free; only the float
// operations after them are fixed.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/activations.hpp"
#include "kernels/kernel_table.hpp"

namespace pensieve::kernels::avx2 {

// Sum of the eight lanes in one fixed order.
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline std::uint16_t load_u16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline float load_fp16(const std::uint8_t* p) {
  return _cvtsh_ss(load_u16(p));
}

// The 16 bytes at p as values 0..31 of a block: low nibbles first, then high nibbles (the layout
// of every 32-value block type). The bytes are loaded into both halves (a plain load, where an
// insert would take the shuffle port) and the high half shifted by 4.
inline __m256i nibbles_32(const std::uint8_t* p) {
  const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  const __m256i shifted = _mm256_srlv_epi32(both, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
  return _mm256_and_si256(shifted, _mm256_set1_epi8(0x0f));
}

// The word of 8 rows at p in a repacked panel (panel_layout.hpp): one half of a 64-byte word.
inline __m256i load_words(const std::uint8_t* p) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
}

// The fp16 in the low (kHigh: high) half of each dword of v, as 8 floats.
template <bool kHigh>
inline __m256 fp16_halves(__m256i v) {
  const __m256i pick = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15, 0, 1, 4, 5, 8,
                                        9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
  const __m256i halves = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, pick), 0xd8);
  return _mm256_cvtph_ps(kHigh ? _mm256_extracti128_si256(halves, 1) : _mm256_castsi256_si128(halves));
}

// Bit j of `bits` as 0x10 in byte j (the fifth bit of Q5_0 and Q5_1 codes).
inline __m256i fifth_bits_32(std::uint32_t bits) {
  // Byte j takes byte j / 8 of the mask, then keeps bit j % 8 of it.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// The 4 bytes at p in every dword (a token's 4 activation codes against a dword of 8 rows).
inline __m256i broadcast_u32(const void* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(static_cast<int>(v));
}

// The sum of the eight int32 lanes of v, in every lane.
inline __m256i broadcast_lane_sum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm256_broadcastd_epi32(s);
}

// Σ of unsigned bytes u times signed bytes s over groups of four bytes, as eight int32 lanes.
// Exact while every u·s pair sum stays within int16 (|u| ≤ 128 with |s| ≤ 127).
inline __m256i dot_u8_s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// A tile's sums into out[t·out_stride + r].
template <int R, int T>
void store_tile(const __m256 (&acc)[R][T], std::size_t r0, std::size_t t0, float* out,
                std::size_t out_stride) {
  for (int t = 0; t < T; ++t) {
    float* o = out + (t0 + static_cast<std::size_t>(t)) * out_stride + r0;
    for (int r = 0; r < R; ++r) o[r] = hsum(acc[r][t]);
  }
}

// Rows per block of the loop nest below: a block's weights stay in L2 while every input passes
// over it, and one tile of inputs stays in L1 while it meets every row of the block.
inline constexpr std::size_t kBlockRows = 32;

// Covers rows [row_begin, row_end) × every input with Tile::run<R, T> tiles: kRows × kTokens
// while kTokens inputs remain, then kSingleRows × 1 per remaining input (decode is all this),
// single rows at the bottom edge. Every pair computes exactly as in any other tile.
template <class Tile, int kRows, int kTokens, int kSingleRows>
void matmul_tiled(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
                  float* out, std::size_t out_stride) {
  const std::size_t full = x.rows / kTokens * kTokens;
  for (std::size_t block = row_begin; block < row_end; block += kBlockRows) {
    const std::size_t block_end = block + kBlockRows < row_end ? block + kBlockRows : row_end;
    for (std::size_t t = 0; t < full; t += kTokens) {
      std::size_t r = block;
      for (; r + kRows <= block_end; r += kRows)
        Tile::template run<kRows, kTokens>(w, r, x, t, out, out_stride);
      for (; r < block_end; ++r) Tile::template run<1, kTokens>(w, r, x, t, out, out_stride);
    }
    for (std::size_t t = full; t < x.rows; ++t) {
      std::size_t r = block;
      for (; r + kSingleRows <= block_end; r += kSingleRows)
        Tile::template run<kSingleRows, 1>(w, r, x, t, out, out_stride);
      for (; r < block_end; ++r) Tile::template run<1, 1>(w, r, x, t, out, out_stride);
    }
  }
}

// Matmul entries by TensorType id, one function per file; kernels_avx2.cpp gathers them into the
// table. Plain arrays, not KernelTable's std::array: its operator[] is an inline function the
// scalar files instantiate too, and a debug build would emit an AVX2-compiled copy of it here.
using MatmulSlots = MatmulRowsFn[kTypeSlots];
// Entries that read a repacked copy also set its layout in `repacking` (by TensorType id).
void add_legacy_kernels(MatmulSlots& slots, Repacking (&repacking)[kTypeSlots]);
void add_kquant_kernels(MatmulSlots& slots, Repacking (&repacking)[kTypeSlots]);
void add_float_kernels(MatmulSlots& slots);
void add_kquant_panel_kernels(MatmulSlots& slots, Repacking (&repacking)[kTypeSlots]);
void add_mxfp4_panel_kernels(MatmulSlots& slots, Repacking (&repacking)[kTypeSlots]);
void quantize_row_q8x32(const float* x, std::size_t cols, std::uint8_t* out);
// offset·Σa of every 32-value block of every input of x (ActBlock32 rows), in scratch slot 1: for
// codes stored as u = w + offset, Σw·a = Σu·a − offset·Σa, all exact. Computed once per call, not
// once per panel and half panel that meets the block.
const std::int32_t* block_offset_terms(const Activations& x, std::size_t blocks, int offset);
void quantize_row_q8x256(const float* x, std::size_t cols, std::uint8_t* out);

}  // namespace pensieve::kernels::avx2
