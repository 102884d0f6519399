// kernels/avx512/kquants: the K-quant super-block types (Q4_K, Q5_K, Q6_K) against ActBlock256
// activations. Each type builds panels (see int_panels): 16 rows' blocks are read as dwords with
// the rows in the lanes, then codes and scales are unpacked for all 16 rows at once.
#include "core/cpu_features.hpp"
#include "kernels/avx512/entries.hpp"
#include "kernels/avx512/int_panels.hpp"

namespace pensieve::kernels::avx512 {
namespace {

using tensor::TensorType;

// How many blocks ahead a one-token decode asks for its lines. The K-quants' panels need asking
// for (on a Zen 5 with nothing asked, Q4_K_M decoded at half the speed); kDecodePrefetchBlocks is
// what an Intel Xeon measured, 2 what a Zen 5 did once each thread read its own stretch of rows
// (5% faster than 4, 1 and 3 no better, 8 slower; BENCHMARKS.md, twenty-third session). Spreading
// the asks over a block's steps, into L1, read Q4_K and Q5_K 10–20% slower there (twenty-sixth).
constexpr std::size_t kAmdBlocksAhead = 2;

// {block values, block bytes, group values, bias, group offset, block offset, ActBlock256}
constexpr IntScheme kQ4_K{256, 144, 32, 0, true, false, true};
constexpr IntScheme kQ5_K{256, 176, 32, 0, true, false, true};
constexpr IntScheme kQ6_K{256, 210, 16, 32, false, false, true};

inline __m512i bits(__m512i v, unsigned shift, int mask) {
  return _mm512_and_si512(_mm512_srli_epi32(v, shift), _mm512_set1_epi32(mask));
}

// Q4_K/Q5_K: { fp16 d; fp16 dmin; u8 scales[12]; ... } z[0] = d | dmin, z[1..3] the 12 bytes of
// 8 six-bit scales and 8 six-bit minimums: groups 0..3 keep theirs in the low 6 bits of bytes 0..3
// (scales) and 4..7 (minimums); groups 4..7 keep their low 4 bits in the nibbles of bytes 8..11
// (scale low, minimum high) and their top 2 bits in the top bits of bytes 0..3 (scales) and 4..7
// (minimums). value = d·scale·q − dmin·min.
// Group g's scale d·scale and offset −dmin·min, for 16 rows; d and −dmin from z[0].
inline void kquant_group_scale(const __m512i z[4], __m512 d, __m512 neg_dmin, unsigned g, __m512& ws,
                               __m512& wm) {
  __m512i scale, min;
  if (g < 4) {
    scale = bits(z[1], 8 * g, 63);
    min = bits(z[2], 8 * g, 63);
  } else {
    const unsigned k = g - 4;
    scale = _mm512_or_si512(bits(z[3], 8 * k, 15), _mm512_slli_epi32(bits(z[1], 8 * k + 6, 3), 4));
    min = _mm512_or_si512(bits(z[3], 8 * k + 4, 15), _mm512_slli_epi32(bits(z[2], 8 * k + 6, 3), 4));
  }
  ws = _mm512_mul_ps(d, _mm512_cvtepi32_ps(scale));
  wm = _mm512_mul_ps(neg_dmin, _mm512_cvtepi32_ps(min));
}

inline __m512 kquant_d(const __m512i z[4]) {
  return f16_low(z[0]);
}
inline __m512 kquant_neg_dmin(const __m512i z[4]) {
  return _mm512_sub_ps(_mm512_setzero_ps(), f16_high(z[0]));
}

template <const IntScheme& kS>
inline void kquant_scales(const __m512i z[4], std::uint8_t* groups) {
  const __m512 d = kquant_d(z), neg_dmin = kquant_neg_dmin(z);
#pragma GCC unroll 8
  for (unsigned g = 0; g < 8; ++g) {
    __m512 ws, wm;
    kquant_group_scale(z, d, neg_dmin, g, ws, wm);
    store_scale<kS>(groups, g, ws);
    store_offset<kS>(groups, g, wm);
  }
}

// Q4_K: { fp16 d; fp16 dmin; u8 scales[12]; u8 qs[128]; } each 64 values take 32 bytes of qs: the
// low nibbles are the first 32 values (group 2p), the high nibbles the next 32 (group 2p + 1).
// Dword q of qs (pair q / 8, position q % 8) holds quad q % 8 of both groups.
struct BuildQ4K {
  template <class Src>
  void operator()(const Src& src, std::size_t begin, std::size_t end, std::uint8_t* panel) const {
    constexpr std::size_t kBB = kQ4_K.block_bytes;
    for (std::size_t b = begin; b < end; ++b) {
      const std::size_t at = b * kBB;
      std::uint8_t* groups = panel + 8 * (b - begin) * kGroupStride<kQ4_K>;
#pragma GCC unroll 5
      for (std::size_t chunk = 0; chunk < 5; ++chunk) {
        __m512i z[8];
        // Bytes 128..143 of the block in the last chunk, all 32 in the others.
        src.dwords8(at + 32 * chunk, chunk == 4 ? 0xffffu : ~0u, z);
        if (chunk == 0) kquant_scales<kQ4_K>(z, groups);
#pragma GCC unroll 8
        for (std::size_t e = 0; e < 8; ++e) {
          if ((chunk == 0 && e < 4) || (chunk == 4 && e >= 4)) continue;  // not qs
          const std::size_t q = 8 * chunk + e - 4;                        // dword of qs
          store_quad<kQ4_K>(groups, 2 * (q / 8), q % 8, low_nibbles(z[e]));
          store_quad<kQ4_K>(groups, 2 * (q / 8) + 1, q % 8, high_nibbles(z[e]));
        }
      }
    }
  }
};

// A few tokens against one repacked panel of Q4_K or Q5_K rows, unpacking the codes in
// registers instead of into a panel in memory, once for all the tokens: for each token,
// accumulate<kS, 1, 1>'s arithmetic on the same numbers, in the same order, so the same bits (f
// += each group's sum, scaled, in column order; the integer sums are exact in any order). Each
// block asks for the lines of the block kBlocksAhead blocks on, into L2.
template <const IntScheme& kS, std::size_t kBlocksAhead>
struct DecodeKQuant {
  static constexpr bool kFifth = &kS == &kQ5_K;  // Q5_K: a fifth bit per value from qh
  static constexpr std::size_t kMaxTokens = 4;
  static constexpr std::size_t kBatchTokens = 8;  // measured: bench/kernels batch/…
  template <std::size_t kT>
  void run(const std::uint8_t* panel, std::size_t cols, const std::uint8_t* const (&act)[kT],
           const std::uint8_t* const (&aux)[kT], __m512 (&f)[kT]) const {
    constexpr std::size_t kWords = kS.block_bytes / 4;
    constexpr std::size_t kCodes = kFifth ? 12 : 4;  // the word where qs starts (qh: 4..11)
    const __m512i low4 = _mm512_set1_epi8(0x0f), bit4 = _mm512_set1_epi8(0x10);
    for (std::size_t b = 0; b < cols / 256; ++b) {
      const std::uint8_t* words = panel + b * kWords * 64;
      prefetch_ahead(words + kBlocksAhead * kWords * 64, kWords * 64);
      const std::uint8_t* a[kT];
      const std::uint8_t* sums[kT];  // Σa per 32 values, float
      for (std::size_t t = 0; t < kT; ++t) {
        a[t] = act[t] + b * sizeof(ActBlock256);
        sums[t] = aux[t] + b * 8 * 4;
      }
      __m512i z[4];
#pragma GCC unroll 4
      for (std::size_t k = 0; k < 4; ++k) z[k] = _mm512_load_si512(words + 64 * k);
      const __m512 d = kquant_d(z), neg_dmin = kquant_neg_dmin(z);
#pragma GCC unroll 4
      for (std::size_t p = 0; p < 4; ++p) {
        __m512i lo[kT], hi[kT];
        for (std::size_t t = 0; t < kT; ++t) lo[t] = hi[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (std::size_t i = 0; i < 8; ++i) {
          const __m512i v = _mm512_load_si512(words + 64 * (kCodes + 8 * p + i));
          __m512i lo_codes, hi_codes;
          if constexpr (kFifth) {
            // Bit 2p (2p + 1) of each byte of qh's word i, moved to bit 4 (as build_q5_k does).
            const __m512i qh = _mm512_load_si512(words + 64 * (4 + i));
            const __m512i lo_bit = _mm512_and_si512(_mm512_rol_epi32(qh, (4 - 2 * p + 32) % 32), bit4);
            const __m512i hi_bit = _mm512_and_si512(_mm512_rol_epi32(qh, (3 - 2 * p + 32) % 32), bit4);
            // (nibble & 0x0f) | bit, one instruction each: low4 selects, bit by bit.
            lo_codes = _mm512_ternarylogic_epi32(v, lo_bit, low4, 0xe4);
            hi_codes = _mm512_ternarylogic_epi32(_mm512_srli_epi32(v, 4), hi_bit, low4, 0xe4);
          } else {
            lo_codes = _mm512_and_si512(v, low4);
            // The high nibbles where they are: 16 times the codes (see below).
            hi_codes = _mm512_andnot_si512(low4, v);
          }
#pragma GCC unroll 4
          for (std::size_t t = 0; t < kT; ++t) {
            lo[t] = _mm512_dpbusd_epi32(lo[t], lo_codes,
                                        _mm512_set1_epi32(static_cast<int>(load_u32(a[t] + 64 * p + 4 * i))));
            hi[t] = _mm512_dpbusd_epi32(
                hi[t], hi_codes, _mm512_set1_epi32(static_cast<int>(load_u32(a[t] + 64 * p + 32 + 4 * i))));
          }
        }
#pragma GCC unroll 2
        for (std::size_t h = 0; h < 2; ++h) {
          const unsigned g = static_cast<unsigned>(2 * p + h);
          __m512 ws, wm;  // (worked out here, not for the whole block: fewer live registers)
          kquant_group_scale(z, d, neg_dmin, g, ws, wm);
          // Q4_K's high group's sum is 16·I, exactly, and float(16·I)·(ws/16) is float(I)·ws
          // rounded the same way (scaling by 16 is exact both sides), so the same bits.
          if (!kFifth && h == 1) ws = _mm512_mul_ps(ws, _mm512_set1_ps(1.0f / 16));
#pragma GCC unroll 4
          for (std::size_t t = 0; t < kT; ++t) {
            __m512 s = _mm512_mul_ps(_mm512_cvtepi32_ps(h == 0 ? lo[t] : hi[t]), ws);
            s = _mm512_fmadd_ps(wm, _mm512_set1_ps(load_f32(sums[t] + 4 * g)), s);
            f[t] =
                _mm512_fmadd_ps(s, _mm512_set1_ps(load_f32(a[t] + offsetof(ActBlock256, d) + 4 * g)), f[t]);
          }
        }
      }
    }
  }
};

// Q5_K: { fp16 d; fp16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; } as Q4_K plus a fifth bit:
// value l of group g has it at bit g of qh[l], so quad i of group g takes bit g of each byte of
// qh's dword i, moved to bit 4 (a rotation keeps each byte's bits in their byte).
struct BuildQ5K {
  template <class Src>
  void operator()(const Src& src, std::size_t begin, std::size_t end, std::uint8_t* panel) const {
    constexpr std::size_t kBB = kQ5_K.block_bytes;
    const __m512i bit4 = _mm512_set1_epi8(0x10);
    for (std::size_t b = begin; b < end; ++b) {
      const std::size_t at = b * kBB;
      std::uint8_t* groups = panel + 8 * (b - begin) * kGroupStride<kQ5_K>;
      __m512i z[8], qh[8];
      src.dwords8(at, ~0u, z);
      kquant_scales<kQ5_K>(z, groups);
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) qh[i] = z[4 + i];
#pragma GCC unroll 5
      for (std::size_t chunk = 1; chunk < 6; ++chunk) {
        src.dwords8(at + 32 * chunk, chunk == 5 ? 0xffffu : ~0u, z);
        if (chunk == 1) {
#pragma GCC unroll 4
          for (std::size_t i = 0; i < 4; ++i) qh[4 + i] = z[i];
        }
#pragma GCC unroll 8
        for (std::size_t e = 0; e < 8; ++e) {
          if ((chunk == 1 && e < 4) || (chunk == 5 && e >= 4)) continue;  // not qs
          const std::size_t q = 8 * chunk + e - 12;                       // dword of qs
          const std::size_t pair = q / 8, i = q % 8;
          const __m512i lo_bit = _mm512_and_si512(_mm512_rol_epi32(qh[i], (4 - 2 * pair + 32) % 32), bit4);
          const __m512i hi_bit = _mm512_and_si512(_mm512_rol_epi32(qh[i], (3 - 2 * pair + 32) % 32), bit4);
          store_quad<kQ5_K>(groups, 2 * pair, i, _mm512_or_si512(low_nibbles(z[e]), lo_bit));
          store_quad<kQ5_K>(groups, 2 * pair + 1, i, _mm512_or_si512(high_nibbles(z[e]), hi_bit));
        }
      }
    }
  }
};

// Q6_K: { u8 ql[128]; u8 qh[64]; i8 scales[16]; fp16 d; } value 32k + l of half h (k = 0..3)
// takes its low 4 bits from ql[64h + 32(k & 1) + l] (low nibble for k < 2, high for k ≥ 2) and its
// top 2 bits from bits 2k of qh[32h + l]; the code is those 6 bits (the signed value + 32), in 16
// groups of 16 with signed 8-bit scales.
struct BuildQ6K {
  template <class Src>
  void operator()(const Src& src, std::size_t begin, std::size_t end, std::uint8_t* panel) const {
    constexpr std::size_t kBB = kQ6_K.block_bytes;
    const __m512i top2 = _mm512_set1_epi8(0x30);
    for (std::size_t b = begin; b < end; ++b) {
      const std::size_t at = b * kBB;
      std::uint8_t* groups = panel + 16 * (b - begin) * kGroupStride<kQ6_K>;
      __m512i z[8];
      src.dwords8(at + 192, 0x3ffffu, z);  // z[0..3] the scales, z[4] d
      const __m512 d = f16_low(z[4]);
#pragma GCC unroll 16
      for (unsigned g = 0; g < 16; ++g) {
        // Byte g % 4 of dword g / 4, sign-extended.
        const __m512i scale = _mm512_srai_epi32(_mm512_slli_epi32(z[g / 4], 24 - 8 * (g % 4)), 24);
        store_scale<kQ6_K>(groups, g, _mm512_mul_ps(d, _mm512_cvtepi32_ps(scale)));
      }
#pragma GCC unroll 2
      for (std::size_t half = 0; half < 2; ++half) {
        __m512i ql[16], qh[8];
        src.dwords8(at + 64 * half, ~0u, ql);
        src.dwords8(at + 64 * half + 32, ~0u, ql + 8);
        src.dwords8(at + 128 + 32 * half, ~0u, qh);
#pragma GCC unroll 4
        for (unsigned k = 0; k < 4; ++k) {
#pragma GCC unroll 8
          for (std::size_t i = 0; i < 8; ++i) {
            const __m512i src = ql[8 * (k & 1) + i];
            const __m512i low = k < 2 ? low_nibbles(src) : high_nibbles(src);
            // bits 2k, 2k + 1 of each byte, at bits 4, 5.
            const __m512i high = _mm512_and_si512(_mm512_rol_epi32(qh[i], (4 - 2 * k + 32) % 32), top2);
            const std::size_t value = 128 * half + 32 * k + 4 * i;
            store_quad<kQ6_K>(groups, value / 16, value % 16 / 4, _mm512_or_si512(low, high));
          }
        }
      }
    }
  }
};

// A few tokens against one Q6_K block of a repacked panel, unpacked in registers once for all:
// for each token accumulate<kQ6_K, 1, 1>'s arithmetic on the same numbers in the same order (see
// DecodeKQuant). `words` is the word holding the block's first byte, kShift / 8 bytes into it
// (every other 210-byte block starts 2 bytes into a word), so every load below is at a constant
// offset from it.
template <unsigned kShift, std::size_t kT>
inline void decode_q6_k_block(const std::uint8_t* words, const std::uint8_t* const (&a)[kT],
                              const std::uint8_t* const (&bias_sums)[kT], __m512 (&f)[kT]) {
  constexpr std::size_t kSkew = kShift / 8;
  const auto word = [words](std::size_t byte) { return panel_dword<kShift>(words, byte + kSkew); };
  const __m512i low4 = _mm512_set1_epi8(0x0f), pairs = _mm512_set1_epi8(0x33);
  const __m512 d = f16_low(word(208));
#pragma GCC unroll 2
  for (std::size_t half = 0; half < 2; ++half) {
    // acc[k][h][t]: the 16 values of group 8·half + 2k + h, from its −32·Σa.
    __m512i acc[4][2][kT];
#pragma GCC unroll 4
    for (std::size_t k = 0; k < 4; ++k) {
#pragma GCC unroll 2
      for (std::size_t h = 0; h < 2; ++h) {
        for (std::size_t t = 0; t < kT; ++t) {
          acc[k][h][t] =
              _mm512_set1_epi32(static_cast<int>(load_u32(bias_sums[t] + 4 * (8 * half + 2 * k + h))));
        }
      }
    }
#pragma GCC unroll 8
    for (std::size_t i = 0; i < 8; ++i) {
      const __m512i ql[2] = {word(64 * half + 4 * i), word(64 * half + 32 + 4 * i)};
      const __m512i qh = word(128 + 32 * half + 4 * i);
      // The top two bits of value k of each byte of qh (bits 2k, 2k + 1) moved to bits 4, 5 of
      // a byte whose bits 6, 7 are zero (bits 0..3 are not used): fields 0 and 2 are masked
      // together, 1 and 3 too, then shifted where needed.
      const __m512i even = _mm512_and_si512(qh, pairs),
                    odd = _mm512_and_si512(_mm512_srli_epi32(qh, 2), pairs);
      const __m512i top[4] = {_mm512_slli_epi32(even, 4), _mm512_slli_epi32(odd, 4), even, odd};
#pragma GCC unroll 4
      for (std::size_t k = 0; k < 4; ++k) {
        const __m512i src = ql[k & 1];
        // (nibble & 0x0f) | (top & 0xf0) in one instruction: low4 selects, bit by bit.
        const __m512i code =
            _mm512_ternarylogic_epi32(k < 2 ? src : _mm512_srli_epi32(src, 4), top[k], low4, 0xe4);
        for (std::size_t t = 0; t < kT; ++t) {
          const __m512i av =
              _mm512_set1_epi32(static_cast<int>(load_u32(a[t] + 128 * half + 32 * k + 4 * i)));
          acc[k][i / 4][t] = _mm512_dpbusd_epi32(acc[k][i / 4][t], code, av);
        }
      }
    }
#pragma GCC unroll 4
    for (std::size_t k = 0; k < 4; ++k) {
      const std::size_t g = 8 * half + 2 * k;  // scales[g], scales[g + 1]: bytes of word 48 + g / 4
      const __m512i scales = word(192 + g / 4 * 4);
      const __m512 ws0 = _mm512_mul_ps(
          d, _mm512_cvtepi32_ps(_mm512_srai_epi32(_mm512_slli_epi32(scales, 24 - 8 * (g % 4)), 24)));
      const __m512 ws1 = _mm512_mul_ps(
          d, _mm512_cvtepi32_ps(_mm512_srai_epi32(_mm512_slli_epi32(scales, 16 - 8 * (g % 4)), 24)));
      for (std::size_t t = 0; t < kT; ++t) {
        __m512 sum = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[k][0][t]), ws0);
        sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[k][1][t]), ws1, sum);
        f[t] = _mm512_fmadd_ps(
            sum, _mm512_set1_ps(load_f32(a[t] + offsetof(ActBlock256, d) + 4 * (4 * half + k))), f[t]);
      }
    }
  }
}

template <std::size_t kBlocksAhead>
struct DecodeQ6K {
  // Two tokens' accumulators (16 registers each) are what the register file holds.
  static constexpr std::size_t kMaxTokens = 2;
  static constexpr std::size_t kBatchTokens = 4;  // measured: bench/kernels batch/…
  template <std::size_t kT>
  void run(const std::uint8_t* panel, std::size_t cols, const std::uint8_t* const (&act)[kT],
           const std::uint8_t* const (&aux)[kT], __m512 (&f)[kT]) const {
    constexpr std::size_t kBB = kQ6_K.block_bytes;
    for (std::size_t b = 0; b < cols / 256; ++b) {
      const std::size_t at = b * kBB;
      prefetch_ahead(panel + (at + kBlocksAhead * kBB) / 4 * 64, (kBB + 3) / 4 * 64);
      const std::uint8_t* a[kT];
      const std::uint8_t* bias_sums[kT];  // −32·Σa per 16 values, int32
      for (std::size_t t = 0; t < kT; ++t) {
        a[t] = act[t] + b * sizeof(ActBlock256);
        bias_sums[t] = aux[t] + b * 16 * 4;
      }
      const std::uint8_t* words = panel + at / 4 * 64;
      if (at % 4 == 0) {
        decode_q6_k_block<0, kT>(words, a, bias_sums, f);
      } else {
        decode_q6_k_block<16, kT>(words, a, bias_sums, f);
      }
    }
  }
};

template <std::size_t kBlocksAhead>
void set_kquant_kernels(KernelTable& table) {
  set_panel_matmul(table, TensorType::kQ4_K, matmul_int<kQ4_K, BuildQ4K, DecodeKQuant<kQ4_K, kBlocksAhead>>);
  set_panel_matmul(table, TensorType::kQ5_K, matmul_int<kQ5_K, BuildQ5K, DecodeKQuant<kQ5_K, kBlocksAhead>>);
  set_panel_matmul(table, TensorType::kQ6_K, matmul_int<kQ6_K, BuildQ6K, DecodeQ6K<kBlocksAhead>>);
}

}  // namespace

void add_kquant_kernels(KernelTable& table) {
  if (core::cpu_features().amd) {
    set_kquant_kernels<kAmdBlocksAhead>(table);
  } else {
    set_kquant_kernels<kDecodePrefetchBlocks>(table);
  }
}

}  // namespace pensieve::kernels::avx512
