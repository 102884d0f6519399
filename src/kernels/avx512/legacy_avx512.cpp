// kernels/avx512/legacy: the 32-value block types (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, MXFP4)
// against ActBlock32 activations. Each type builds panels (see int_panels): its codes as unsigned bytes
// (the signed code plus a bias, corrected exactly by the activations' sums), a scale and, for the
// _1 types, an offset, for 16 rows at once (rows in the lanes).
#include "core/cpu_features.hpp"
#include "kernels/avx512/entries.hpp"
#include "kernels/avx512/int_panels.hpp"

namespace pensieve::kernels::avx512 {
namespace {

using tensor::TensorType;

// {block values, block bytes, group values, bias, group offset, block offset, ActBlock256}
constexpr IntScheme kQ8_0{32, 34, 32, 128, false, false, false};
constexpr IntScheme kQ4_0{32, 18, 32, 8, false, false, false};
constexpr IntScheme kQ4_1{32, 20, 32, 0, false, true, false};
constexpr IntScheme kQ5_0{32, 22, 32, 16, false, false, false};
constexpr IntScheme kQ5_1{32, 24, 32, 0, false, true, false};
constexpr IntScheme kIQ4_NL{32, 18, 32, 128, false, false, false};
constexpr IntScheme kMXFP4{32, 17, 32, 128, false, false, false};

// Q8_0: { fp16 d; i8 q[32]; } — codes + 128.
struct BuildQ80 {
  template <class Src>
  void operator()(const Src& src, std::size_t begin, std::size_t end, std::uint8_t* panel) const {
    for (std::size_t b = begin; b < end; ++b) {
      const std::size_t at = b * kQ8_0.block_bytes;
      __m512i z[8];
      src.dwords8(at + 2, ~0u, z);
#pragma GCC unroll 8
      for (std::size_t j = 0; j < 8; ++j)
        store_quad<kQ8_0>(panel, b - begin, j,
                          _mm512_xor_si512(z[j], _mm512_set1_epi8(static_cast<char>(0x80))));
      store_scale<kQ8_0>(panel, b - begin, f16_low(src.dword(at)));
    }
  }
};

// The nibble types: value j of a block sits in byte j % 16 of qs, low nibble for j < 16, else high.
// Two blocks are read at a time (16 bytes of codes each); `codes` is where qs starts in a block.
// With kFifth, qh (a u32 at `fifth`) holds each value's fifth bit; with kOffset, the block starts
// with d and m, else with d.
template <const IntScheme& kS, std::size_t kCodes, bool kFifth, std::size_t kFifthAt>
struct BuildNibbles {
  template <class Src>
  void operator()(const Src& src, std::size_t begin, std::size_t end, std::uint8_t* panel) const {
    constexpr std::size_t kBB = kS.block_bytes;
    // Bits 0..3 of an index to bit 4 of bytes 0..3.
    const __m512i spread = _mm512_setr_epi32(
        0x00000000, 0x00000010, 0x00001000, 0x00001010, 0x00100000, 0x00100010, 0x00101000, 0x00101010,
        0x10000000, 0x10000010, 0x10001000, 0x10001010, 0x10100000, 0x10100010, 0x10101000, 0x10101010);
    for (std::size_t b = begin; b < end; b += 2) {
      const bool second = b + 1 < end;
      __m512i z[8];
      src.dwords4x2(b * kBB + kCodes, (b + 1) * kBB + kCodes, second, z);
      for (std::size_t k = 0; k < (second ? 2u : 1u); ++k) {
        const std::size_t block = b + k, at = block * kBB;
        const __m512i head = src.dword(at);
        __m512i fifth = _mm512_setzero_si512();
        if constexpr (kFifth) fifth = src.dword(at + kFifthAt);
#pragma GCC unroll 8
        for (std::size_t j = 0; j < 8; ++j) {
          const __m512i packed = z[4 * k + j % 4];
          __m512i codes = j < 4 ? low_nibbles(packed) : high_nibbles(packed);
          if constexpr (kFifth) {
            const __m512i four = _mm512_and_si512(_mm512_srli_epi32(fifth, static_cast<unsigned>(4 * j)),
                                                  _mm512_set1_epi32(15));
            codes = _mm512_or_si512(codes, _mm512_permutexvar_epi32(four, spread));
          }
          store_quad<kS>(panel, block - begin, j, codes);
        }
        store_scale<kS>(panel, block - begin, f16_low(head));
        if constexpr (kS.block_min) store_offset<kS>(panel, block - begin, f16_high(head));
      }
    }
  }
};

// Q4_0: { fp16 d; u8 qs[16]; } value d·(nibble − 8): the nibble is the code + 8.
using BuildQ40 = BuildNibbles<kQ4_0, 2, false, 0>;
// Q4_1: { fp16 d; fp16 m; u8 qs[16]; } value d·nibble + m.
using BuildQ41 = BuildNibbles<kQ4_1, 4, false, 0>;
// Q5_0: { fp16 d; u32 qh; u8 qs[16]; } value d·(nibble | fifth bit << 4 − 16).
using BuildQ50 = BuildNibbles<kQ5_0, 6, true, 2>;
// Q5_1: { fp16 d; fp16 m; u32 qh; u8 qs[16]; } value d·(nibble | fifth bit << 4) + m.
using BuildQ51 = BuildNibbles<kQ5_1, 8, true, 4>;

// 4-bit codes looked up in a table of 16 signed values (+ 128 for the unsigned dot product), one
// scale per block of 32: { scale; u8 qs[16]; } with the scale's kScaleBytes first.
template <const IntScheme& kS, std::size_t kScaleBytes, class Table>
struct BuildLookup4 {
  template <class Src>
  void operator()(const Src& src, std::size_t begin, std::size_t end, std::uint8_t* panel) const {
    constexpr std::size_t kBlockBytes = kScaleBytes + 16;
    const __m512i table = Table::codes();
    for (std::size_t b = begin; b < end; b += 2) {
      const bool second = b + 1 < end;
      __m512i z[8];
      src.dwords4x2(b * kBlockBytes + kScaleBytes, (b + 1) * kBlockBytes + kScaleBytes, second, z);
      for (std::size_t k = 0; k < (second ? 2u : 1u); ++k) {
        const std::size_t block = b + k;
#pragma GCC unroll 8
        for (std::size_t j = 0; j < 8; ++j) {
          const __m512i packed = z[4 * k + j % 4];
          store_quad<kS>(panel, block - begin, j,
                         _mm512_shuffle_epi8(table, j < 4 ? low_nibbles(packed) : high_nibbles(packed)));
        }
        store_scale<kS>(panel, block - begin, Table::scale(src.dword(block * kBlockBytes)));
      }
    }
  }
};

// IQ4_NL: { fp16 d; u8 qs[16]; } value d·grid[nibble].
struct Iq4NlTable {
  // The grid {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113} plus 128,
  // in every 128-bit lane for vpshufb.
  static __m512i codes() {
    return _mm512_broadcast_i32x4(
        _mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, static_cast<char>(129), static_cast<char>(141),
                      static_cast<char>(153), static_cast<char>(166), static_cast<char>(181),
                      static_cast<char>(197), static_cast<char>(217), static_cast<char>(241)));
  }
  static __m512 scale(__m512i dword) { return f16_low(dword); }
};
using BuildIq4Nl = BuildLookup4<kIQ4_NL, 2, Iq4NlTable>;

// MXFP4: { u8 e; u8 qs[16]; } value 2^(e − 128)·doubled[nibble], doubled = twice the E2M1 value
// (an integer in [-12, 12]).
struct Mxfp4Table {
  static __m512i codes() {
    return _mm512_broadcast_i32x4(_mm_setr_epi8(
        static_cast<char>(128), static_cast<char>(129), static_cast<char>(130), static_cast<char>(131),
        static_cast<char>(132), static_cast<char>(134), static_cast<char>(136), static_cast<char>(140),
        static_cast<char>(128), 127, 126, 125, 124, 122, 120, 116));
  }
  // Half of 2^(e − 127), for the E8M0 byte e in the low byte of each lane: 0.5 scaled by
  // 2^(e − 127), exact for every e (the subnormals 2^-128 and 2^-127 included, as denormals are
  // not flushed). (tensor/mxfp4_layout.hpp has the scalar form; AVX-512 files keep their own copies.)
  static __m512 scale(__m512i dword) {
    const __m512i e = _mm512_and_si512(dword, _mm512_set1_epi32(0xff));
    return _mm512_scalef_ps(_mm512_set1_ps(0.5f),
                            _mm512_cvtepi32_ps(_mm512_sub_epi32(e, _mm512_set1_epi32(127))));
  }
};
using BuildMxfp4 = BuildLookup4<kMXFP4, 1, Mxfp4Table>;

// A few tokens against repacked panels of Q8_0, Q4_0 or MXFP4 rows, unpacked in registers once
// for all: for each token accumulate<kS, 1, 1>'s arithmetic on the same numbers in the same order
// (see DecodeKQuant in kquants_avx512.cpp). Blocks are 34, 18 or 17 bytes, so they are taken in
// pairs or fours (a whole number of words): `words` is the first word of those and kStart where
// the block starts among them, so every load is at a constant offset.
template <const IntScheme& kS, std::size_t kStart, std::size_t kT>
inline void decode_legacy_block(const std::uint8_t* words, const std::uint8_t* const (&act)[kT],
                                const std::int32_t (&bias)[kT], __m512 (&f)[kT]) {
  constexpr bool kMxfp4 = &kS == &kMXFP4;  // an E8M0 byte before the codes, not an fp16
  constexpr std::size_t kCodes = kStart + (kMxfp4 ? 1 : 2);
  constexpr unsigned kCodesShift = kCodes % 4 * 8, kScaleShift = kStart % 4 * 8;
  __m512i acc[2][kT];
  for (std::size_t t = 0; t < kT; ++t) {
    acc[0][t] = _mm512_set1_epi32(bias[t]);
    acc[1][t] = _mm512_setzero_si512();
  }
  if constexpr (&kS == &kQ8_0) {
#pragma GCC unroll 8
    for (std::size_t j = 0; j < 8; ++j) {
      const __m512i codes = _mm512_xor_si512(panel_dword<kCodesShift>(words, kCodes + 4 * j),
                                             _mm512_set1_epi8(static_cast<char>(0x80)));
      for (std::size_t t = 0; t < kT; ++t) {
        acc[j % 2][t] = _mm512_dpbusd_epi32(acc[j % 2][t], codes,
                                            _mm512_set1_epi32(static_cast<int>(load_u32(act[t] + 4 * j))));
      }
    }
  } else {
#pragma GCC unroll 4
    for (std::size_t j = 0; j < 4; ++j) {
      const __m512i packed = panel_dword<kCodesShift>(words, kCodes + 4 * j);
      __m512i low = low_nibbles(packed), high = high_nibbles(packed);
      if constexpr (kMxfp4) {
        low = _mm512_shuffle_epi8(Mxfp4Table::codes(), low);
        high = _mm512_shuffle_epi8(Mxfp4Table::codes(), high);
      }
      for (std::size_t t = 0; t < kT; ++t) {
        acc[0][t] = _mm512_dpbusd_epi32(acc[0][t], low,
                                        _mm512_set1_epi32(static_cast<int>(load_u32(act[t] + 4 * j))));
        acc[1][t] = _mm512_dpbusd_epi32(acc[1][t], high,
                                        _mm512_set1_epi32(static_cast<int>(load_u32(act[t] + 16 + 4 * j))));
      }
    }
  }
  __m512 ws;
  if constexpr (kMxfp4) {
    ws = Mxfp4Table::scale(panel_dword<kScaleShift>(words, kStart));
  } else {
    ws = f16_low(panel_dword<kScaleShift>(words, kStart));
  }
  for (std::size_t t = 0; t < kT; ++t) {
    const __m512 s = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[0][t], acc[1][t])), ws);
    f[t] = _mm512_fmadd_ps(s, _mm512_set1_ps(load_f32(act[t] + offsetof(ActBlock32, d))), f[t]);
  }
}

// How a one-token decode asks for its panels' lines before it reads them. Which way is fastest
// depends on the CPU. On a Zen 5, with each thread reading one stretch of rows (row_dealer), the
// spread 6 KiB ahead read Q4_0 and Q8_0 as fast as a plain read of the same bytes, where asking
// for nothing (Q4_0) or for lines 2 KiB ahead into L2 (Q8_0) left them at 0.72–0.92 of it when
// memory was fast (each way built into one binary and called in turn with a plain read beside
// each call; BENCHMARKS.md, twenty-sixth session). The burst is what the kernels were first tuned
// with, on an Intel Xeon, and was measured best there again (twenty-fifth session).
enum class Ahead {
  kBurst,   // a pair's lines in one go, about 9 KB ahead, into L2
  kSpread,  // 6 KiB ahead, into L1, half of a pair's lines before each of its blocks
};

template <const IntScheme& kS, Ahead kAhead>
struct DecodeLegacy {
  static constexpr std::size_t kMaxTokens = 4;
  static constexpr std::size_t kBatchTokens = 8;  // measured: bench/kernels batch/…
  template <std::size_t kT>
  void run(const std::uint8_t* panel, std::size_t cols, const std::uint8_t* const (&act)[kT],
           const std::uint8_t* const (&aux)[kT], __m512 (&f)[kT]) const {
    constexpr std::size_t kBB = kS.block_bytes;
    static_assert(kBB % 4 == 2, "two blocks make a whole number of words");
    constexpr std::size_t kPairWords = 2 * kBB / 4;
    constexpr std::size_t kBurstDistance = (kDecodePrefetchBlocks * 144 / (2 * kBB) + 1) * kPairWords * 64;
    constexpr std::size_t kSpreadDistance = 6144;
    const std::size_t blocks = cols / 32;
    for (std::size_t b = 0; b < blocks; b += 2) {
      const std::uint8_t* words = panel + b / 2 * kPairWords * 64;
      if constexpr (kAhead == Ahead::kBurst) prefetch_ahead(words + kBurstDistance, kPairWords * 64);
      const std::size_t pair = b + 1 < blocks ? 2 : 1;
      for (std::size_t k = 0; k < pair; ++k) {
        if constexpr (kAhead == Ahead::kSpread) prefetch_step(words, kSpreadDistance, kPairWords, k, 2);
        const std::uint8_t* a[kT];
        std::int32_t bias[kT];
        for (std::size_t t = 0; t < kT; ++t) {
          a[t] = act[t] + (b + k) * sizeof(ActBlock32);
          bias[t] = static_cast<std::int32_t>(load_u32(aux[t] + 4 * (b + k)));
        }
        if (k == 0) {
          decode_legacy_block<kS, 0, kT>(words, a, bias, f);
        } else {
          decode_legacy_block<kS, kBB, kT>(words, a, bias, f);
        }
      }
    }
  }
};

// MXFP4's 17-byte blocks make a whole number of words four at a time (68 bytes): the four start
// at bytes 0, 17, 34 and 51 of them, each load at a constant offset.
struct DecodeMxfp4 {
  static constexpr std::size_t kMaxTokens = 4;
  static constexpr std::size_t kBatchTokens = 8;
  template <std::size_t kT>
  void run(const std::uint8_t* panel, std::size_t cols, const std::uint8_t* const (&act)[kT],
           const std::uint8_t* const (&aux)[kT], __m512 (&f)[kT]) const {
    constexpr std::size_t kBB = kMXFP4.block_bytes;
    constexpr std::size_t kQuadWords = 4 * kBB / 4;
    constexpr std::size_t kAheadQuads = kDecodePrefetchBlocks * 144 / (4 * kBB) + 1;  // as Ahead::kBurst
    const std::size_t blocks = cols / 32;
    for (std::size_t b = 0; b < blocks; b += 4) {
      const std::uint8_t* words = panel + b / 4 * kQuadWords * 64;
      prefetch_ahead(words + kAheadQuads * kQuadWords * 64, kQuadWords * 64);
      const std::size_t quad = min_size(4, blocks - b);
      for (std::size_t k = 0; k < quad; ++k) {
        const std::uint8_t* a[kT];
        std::int32_t bias[kT];
        for (std::size_t t = 0; t < kT; ++t) {
          a[t] = act[t] + (b + k) * sizeof(ActBlock32);
          bias[t] = static_cast<std::int32_t>(load_u32(aux[t] + 4 * (b + k)));
        }
        switch (k) {
          case 0:
            decode_legacy_block<kMXFP4, 0, kT>(words, a, bias, f);
            break;
          case 1:
            decode_legacy_block<kMXFP4, kBB, kT>(words, a, bias, f);
            break;
          case 2:
            decode_legacy_block<kMXFP4, 2 * kBB, kT>(words, a, bias, f);
            break;
          default:
            decode_legacy_block<kMXFP4, 3 * kBB, kT>(words, a, bias, f);
            break;
        }
      }
    }
  }
};

}  // namespace

void add_legacy_kernels(KernelTable& table) {
  if (core::cpu_features().amd) {
    set_panel_matmul(table, TensorType::kQ8_0,
                     matmul_int<kQ8_0, BuildQ80, DecodeLegacy<kQ8_0, Ahead::kSpread>>);
    set_panel_matmul(table, TensorType::kQ4_0,
                     matmul_int<kQ4_0, BuildQ40, DecodeLegacy<kQ4_0, Ahead::kSpread>>);
  } else {
    set_panel_matmul(table, TensorType::kQ8_0,
                     matmul_int<kQ8_0, BuildQ80, DecodeLegacy<kQ8_0, Ahead::kBurst>>);
    set_panel_matmul(table, TensorType::kQ4_0,
                     matmul_int<kQ4_0, BuildQ40, DecodeLegacy<kQ4_0, Ahead::kBurst>>);
  }
  set_panel_matmul(table, TensorType::kQ4_1, matmul_int<kQ4_1, BuildQ41>);
  set_panel_matmul(table, TensorType::kQ5_0, matmul_int<kQ5_0, BuildQ50>);
  set_panel_matmul(table, TensorType::kQ5_1, matmul_int<kQ5_1, BuildQ51>);
  set_panel_matmul(table, TensorType::kIQ4_NL, matmul_int<kIQ4_NL, BuildIq4Nl>);
  set_panel_matmul(table, TensorType::kMXFP4, matmul_int<kMXFP4, BuildMxfp4, DecodeMxfp4>);
}

}  // namespace pensieve::kernels::avx512
