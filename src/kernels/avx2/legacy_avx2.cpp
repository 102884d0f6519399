// kernels/avx2/legacy_avx2: the 32-value block types with an fp16 scale (Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1, IQ4_NL) against ActBlock32 activations; MXFP4 has mxfp4_panels_avx2.cpp.
//
// A block's integer dot product is exact: maddubs multiplies unsigned by signed bytes into int16
// pair sums (each below 2·128·127 < 32767 here), madd widens them, and eight lanes are summed. Each
// (row, input) pair then owns one float lane, and per block does
//   acc = fma(float(dot), d_w·d_a, acc)            and, for the _1 types, acc = fma(m_w, d_a·Σq_a, acc)
// So the float work is the same whichever lane of which tile the pair sits in. Two tiles:
// - inputs in lanes (prefill): a few rows × 8 inputs; each weight block is unpacked once and met
//   with the 8 inputs, whose scales sit in one vector;
// - rows in lanes (decode): 8 rows × 1 input; each block of the input is loaded once for 8 rows.
// A tile with fewer pairs than lanes repeats its last row or input and drops those lanes.
// Every type here is read from repacked panels (panel_layout.hpp), where a dword of 8 rows is one
// load, with the rows in the lanes (panel_block) and the same float work again; Q4_0, IQ4_NL and
// Q8_0 with their blocks in pairs behind their scales (pair_scales.hpp), so that no code dword
// straddles two. On their row kernels Q4_1 and IQ4_NL decoded 13.5–15.6 and 13.7 GB/s a core from
// cache, on panels 30.1 and 17.4; prompts ran 65–71 and 54–68 GOP/s a core, on panels 108–110
// and 77–87. Q5_0 and Q5_1 on rows decoded 9–12 GB/s from memory, on panels 15–24, and 1.14–1.16×
// that with their fifth bits reordered (kQ5Panels); prompts 81–108 GOP/s, on panels 126–151 (kernels_bench,
// Zen 3, 2 threads). Decode takes one input at a time, prompts K::kPassTokens at a time, each block's codes
// unpacked once for all of them (Q8_0's prompts a half panel and 8 tokens at a time,
// q8_0_half_block). Row ranges that do not start a panel run the tiles above on rows unpacked from
// the panels.
#include <type_traits>
#include <utility>

#include "kernels/avx2/avx2_common.hpp"
#include "kernels/avx2/panel_passes.hpp"
#include "kernels/fifth_bits.hpp"
#include "kernels/panel_layout.hpp"
#include "kernels/repacking.hpp"
#include "kernels/scratch.hpp"

namespace pensieve::kernels::avx2 {
namespace {

// How a type's codes meet the activations'.
enum class Codes {
  kSigned,   // signed codes: |w| as the unsigned operand, w's sign moved to the activation
  kShifted,  // unsigned codes u with w = u − shift: signed as above, or Σu·a − shift·Σa
  kAffine,   // unsigned codes with value d·u + m: the unsigned operand as they are
};

// Panels, rows in lanes: a block's codes are unpacked once into eight vectors u[j], dword j of a
// row holding its codes 4j..4j+3 (so u[j] meets the activation bytes 4j..4j+3 of every token),
// and then met with each token in turn (dot_rows).

// The 32 codes of four nibble words (word i: codes 4i..4i+3 in its low nibbles, 16 + 4i.. in its
// high ones); kFifth: with the fifth bits of each row's `qh` dword, reordered as
// Repacking::kQ5Panels keeps them (fifth_bits.hpp): u[j]'s are bit j of each of its bytes, so one
// shift and mask take them to 0x10. (From the stored order, a shuffle, two masks and a compare
// took 36 operations a half block, against 23 here.)
template <bool kFifth>
void unpack_nibbles(const __m256i (&words)[4], __m256i qh, __m256i (&u)[8]) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  for (int i = 0; i < 4; ++i) {
    u[i] = _mm256_and_si256(words[i], low4);
    u[4 + i] = _mm256_and_si256(_mm256_srli_epi16(words[i], 4), low4);
  }
  if constexpr (kFifth) {
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    u[0] = _mm256_or_si256(u[0], _mm256_and_si256(_mm256_slli_epi32(qh, 4), bit4));
    u[1] = _mm256_or_si256(u[1], _mm256_and_si256(_mm256_slli_epi32(qh, 3), bit4));
    u[2] = _mm256_or_si256(u[2], _mm256_and_si256(_mm256_slli_epi32(qh, 2), bit4));
    u[3] = _mm256_or_si256(u[3], _mm256_and_si256(_mm256_slli_epi32(qh, 1), bit4));
    u[4] = _mm256_or_si256(u[4], _mm256_and_si256(qh, bit4));
    u[5] = _mm256_or_si256(u[5], _mm256_and_si256(_mm256_srli_epi32(qh, 1), bit4));
    u[6] = _mm256_or_si256(u[6], _mm256_and_si256(_mm256_srli_epi32(qh, 2), bit4));
    u[7] = _mm256_or_si256(u[7], _mm256_and_si256(_mm256_srli_epi32(qh, 3), bit4));
  }
}

// Σ u·a of each row's unsigned codes. The maddubs pair sums stay within int16 while summed: eight
// of 4-bit codes (8·2·15·128 < 32767); of 5-bit codes four (4·2·31·128), so those are widened
// twice.
template <bool kFifth>
__m256i unsigned_dot_rows(const __m256i (&u)[8], const ActBlock32& a) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i pairs = _mm256_setzero_si256(), sum = _mm256_setzero_si256();
  for (int j = 0; j < 8; ++j) {
    pairs = _mm256_add_epi16(pairs, _mm256_maddubs_epi16(u[j], broadcast_u32(a.q + 4 * j)));
    if (kFifth && j % 4 == 3) {
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(pairs, ones));
      pairs = _mm256_setzero_si256();
    }
  }
  return kFifth ? sum : _mm256_madd_epi16(pairs, ones);
}

// Σ w·a of each row's signed codes: |w| meets the activation with w's sign.
__m256i signed_dot_rows(const __m256i (&w)[8], const ActBlock32& a) {
  __m256i sum = _mm256_setzero_si256();
  for (int j = 0; j < 8; ++j) {
    const __m256i q = broadcast_u32(a.q + 4 * j);
    sum = _mm256_add_epi32(sum, dot_u8_s8(_mm256_sign_epi8(w[j], w[j]), _mm256_sign_epi8(q, w[j])));
  }
  return sum;
}

// Each type gives its block size and encoding (kBytes, kCodes), codes() for the row kernels, and
// for panels: their layout (kLayout), the byte offsets of its codes and fifth bits (kCodesAt,
// kFifthAt; 0: none), how many words its codes fill (kCodeWords), unpack(), dot_rows() and the
// prompt tokens a pass (kPassTokens).

// The panel half of the unsigned nibble types (Q4_0, Q4_1; kFifth: Q5_0, Q5_1).
template <bool kFifth>
struct NibblePanels {
  static constexpr Repacking kLayout = kFifth ? Repacking::kQ5Panels : Repacking::kPanels;
  static constexpr std::size_t kCodeWords = 4;
  // Prompt tokens a pass: 8 paid for the fifth bits' unpacking (1.15–1.18× against 4, 512 tokens,
  // one-off harness, paired) but not for Q4_0/Q4_1's (0.90, 0.97).
  static constexpr std::size_t kPassTokens = kFifth ? 8 : 4;
  static void unpack(const __m256i (&words)[kCodeWords], __m256i qh, __m256i (&u)[8]) {
    unpack_nibbles<kFifth>(words, qh, u);
  }
  static __m256i dot_rows(const __m256i (&u)[8], const ActBlock32& a) {
    return unsigned_dot_rows<kFifth>(u, a);
  }
};

// Q8_0: { fp16 d; i8 q[32]; }
struct Q8_0 {
  static constexpr std::size_t kBytes = 34;
  static constexpr Codes kCodes = Codes::kSigned;
  static __m256i codes(const std::uint8_t* b) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2));
  }
  static constexpr Repacking kLayout = Repacking::kPairPanels;
  static constexpr std::size_t kCodeWords = 8, kCodesAt = 2, kFifthAt = 0;
  // Its prompts take q8_0_panel_tokens, 8 tokens a pass (6% faster than 4, one thread and two, 512
  // tokens).
  static constexpr std::size_t kPassTokens = 8;
  static void unpack(const __m256i (&words)[kCodeWords], __m256i, __m256i (&u)[8]) {
    for (int j = 0; j < 8; ++j) u[j] = words[j];
  }
  static __m256i dot_rows(const __m256i (&u)[8], const ActBlock32& a) { return signed_dot_rows(u, a); }
};

// Q4_0: { fp16 d; u8 qs[16]; } code = nibble − 8. Panels take Σ u·a before the shift
// (shift_terms below).
struct Q4_0 : NibblePanels<false> {
  static constexpr Repacking kLayout = Repacking::kPairPanels;
  static constexpr std::size_t kBytes = 18;
  static constexpr Codes kCodes = Codes::kShifted;
  static constexpr int kShift = 8;
  static __m256i codes(const std::uint8_t* b) { return nibbles_32(b + 2); }
  static constexpr std::size_t kCodesAt = 2, kFifthAt = 0;
};

// Q5_0: { fp16 d; u32 qh; u8 qs[16]; } code = (nibble | fifth bit << 4) − 16. Two blocks are 11
// words: in a panel the first's fifth bits and codes straddle words, the second's fill them.
struct Q5_0 : NibblePanels<true> {
  static constexpr std::size_t kBytes = 22;
  static constexpr Codes kCodes = Codes::kShifted;
  static constexpr int kShift = 16;
  static __m256i codes(const std::uint8_t* b) {
    return _mm256_or_si256(nibbles_32(b + 6), fifth_bits_32(load_u32(b + 2)));
  }
  static constexpr std::size_t kCodesAt = 6, kFifthAt = 2;
};

// IQ4_NL: { fp16 d; u8 qs[16]; } code = grid[nibble]; the grid is fixed by the format. Panels
// look each nibble up once per block; the integer sum is the row kernels'.
struct Iq4Nl {
  static constexpr std::size_t kBytes = 18;
  static constexpr Codes kCodes = Codes::kSigned;
  static __m256i grid() {
    return _mm256_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113, -127,
                            -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
  }
  static __m256i codes(const std::uint8_t* b) { return _mm256_shuffle_epi8(grid(), nibbles_32(b + 2)); }
  static constexpr Repacking kLayout = Repacking::kPairPanels;
  static constexpr std::size_t kCodeWords = 4, kCodesAt = 2, kFifthAt = 0;
  // Prompt tokens a pass: 8 ran 1.20× as fast as 4 (512 tokens, one-off harness, paired).
  static constexpr std::size_t kPassTokens = 8;
  static void unpack(const __m256i (&words)[kCodeWords], __m256i qh, __m256i (&u)[8]) {
    unpack_nibbles<false>(words, qh, u);
    for (int j = 0; j < 8; ++j) u[j] = _mm256_shuffle_epi8(grid(), u[j]);
  }
  static __m256i dot_rows(const __m256i (&u)[8], const ActBlock32& a) { return signed_dot_rows(u, a); }
};

// Q4_1: { fp16 d; fp16 m; u8 qs[16]; } value = d·nibble + m. Five words, so in a panel every
// block starts a word: d and m in word 0, the codes in words 1..4 laid out as Q4_0's.
struct Q4_1 : NibblePanels<false> {
  static constexpr std::size_t kBytes = 20;
  static constexpr Codes kCodes = Codes::kAffine;
  static __m256i codes(const std::uint8_t* b) { return nibbles_32(b + 4); }
  static constexpr std::size_t kCodesAt = 4, kFifthAt = 0;
};

// Q5_1: { fp16 d; fp16 m; u32 qh; u8 qs[16]; } value = d·(nibble | fifth bit << 4) + m. Six words:
// in a panel every block starts a word, as Q4_1's, the fifth bits in word 1.
struct Q5_1 : NibblePanels<true> {
  static constexpr std::size_t kBytes = 24;
  static constexpr Codes kCodes = Codes::kAffine;
  static __m256i codes(const std::uint8_t* b) {
    return _mm256_or_si256(nibbles_32(b + 8), fifth_bits_32(load_u32(b + 4)));
  }
  static constexpr std::size_t kCodesAt = 8, kFifthAt = 4;
};

// Lane i of the result = Σ of the eight lanes of v[i].
__m256i sum_lanes_8(const __m256i (&v)[8]) {
  const __m256i h0 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i h1 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  // h0 holds v0..v3's low-half sums in its low 128 bits and high-half sums in its high 128 bits.
  return _mm256_add_epi32(_mm256_blend_epi32(h0, h1, 0xf0), _mm256_permute2x128_si256(h0, h1, 0x21));
}

const ActBlock32* act_row(const Activations& x, std::size_t t) {
  return reinterpret_cast<const ActBlock32*>(x.data + t * x.stride);
}

// Inputs in lanes: rows [r0, r0 + R) × inputs [t0, t0 + n), n ≤ 8.
template <class K, int R>
void tile_inputs(const WeightMatrix& w, std::size_t r0, const Activations& x, std::size_t t0, std::size_t n,
                 float* out, std::size_t out_stride) {
  const ActBlock32* in[8];
  for (std::size_t t = 0; t < 8; ++t) in[t] = act_row(x, t0 + (t < n ? t : n - 1));
  const std::uint8_t* rows[R];
  for (int r = 0; r < R; ++r) rows[r] = w.data + (r0 + static_cast<std::size_t>(r)) * w.row_bytes;
  __m256 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  const std::size_t blocks = w.cols / 32;
  for (std::size_t b = 0; b < blocks; ++b) {
    const __m256 da = _mm256_setr_ps(in[0][b].d, in[1][b].d, in[2][b].d, in[3][b].d, in[4][b].d, in[5][b].d,
                                     in[6][b].d, in[7][b].d);
    for (int r = 0; r < R; ++r) {
      const std::uint8_t* blk = rows[r] + b * K::kBytes;
      __m256i dots[8];
      if constexpr (K::kCodes == Codes::kAffine) {
        const __m256i u = K::codes(blk);
        for (int t = 0; t < 8; ++t) {
          dots[t] = dot_u8_s8(u, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[t][b].q)));
        }
      } else {
        __m256i codes = K::codes(blk);
        if constexpr (K::kCodes == Codes::kShifted)
          codes = _mm256_sub_epi8(codes, _mm256_set1_epi8(K::kShift));
        const __m256i mag = _mm256_sign_epi8(codes, codes);
        for (int t = 0; t < 8; ++t) {
          const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[t][b].q));
          dots[t] = dot_u8_s8(mag, _mm256_sign_epi8(q, codes));
        }
      }
      const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(load_fp16(blk)), da);
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum_lanes_8(dots)), scale, acc[r]);
      if constexpr (K::kCodes == Codes::kAffine) {
        const __m256 d_sum = _mm256_setr_ps(in[0][b].d_sum, in[1][b].d_sum, in[2][b].d_sum, in[3][b].d_sum,
                                            in[4][b].d_sum, in[5][b].d_sum, in[6][b].d_sum, in[7][b].d_sum);
        acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(load_fp16(blk + 2)), d_sum, acc[r]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    float lanes[8];
    _mm256_storeu_ps(lanes, acc[r]);
    for (std::size_t t = 0; t < n; ++t)
      out[(t0 + t) * out_stride + r0 + static_cast<std::size_t>(r)] = lanes[t];
  }
}

// The fp16 at byte `offset` of block b of eight rows, as floats.
__m256 fp16_of_rows(const std::uint8_t* const (&rows)[8], std::size_t at) {
  return _mm256_cvtph_ps(
      _mm_setr_epi16(static_cast<short>(load_u16(rows[0] + at)), static_cast<short>(load_u16(rows[1] + at)),
                     static_cast<short>(load_u16(rows[2] + at)), static_cast<short>(load_u16(rows[3] + at)),
                     static_cast<short>(load_u16(rows[4] + at)), static_cast<short>(load_u16(rows[5] + at)),
                     static_cast<short>(load_u16(rows[6] + at)), static_cast<short>(load_u16(rows[7] + at))));
}

// Rows in lanes: rows [r0, r0 + n), n ≤ 8, × input t.
template <class K>
void tile_rows(const WeightMatrix& w, std::size_t r0, std::size_t n, const Activations& x, std::size_t t,
               float* out, std::size_t out_stride) {
  const std::uint8_t* rows[8];
  for (std::size_t r = 0; r < 8; ++r) rows[r] = w.data + (r0 + (r < n ? r : n - 1)) * w.row_bytes;
  const ActBlock32* in = act_row(x, t);
  __m256 acc = _mm256_setzero_ps();
  const std::size_t blocks = w.cols / 32;
  for (std::size_t b = 0; b < blocks; ++b) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[b].q));
    const std::size_t at = b * K::kBytes;
    __m256i dots[8];
    for (int r = 0; r < 8; ++r) {
      if constexpr (K::kCodes == Codes::kSigned) {
        const __m256i codes = K::codes(rows[r] + at);
        dots[r] = dot_u8_s8(_mm256_sign_epi8(codes, codes), _mm256_sign_epi8(q, codes));
      } else {
        dots[r] = dot_u8_s8(K::codes(rows[r] + at), q);
      }
    }
    __m256i sum = sum_lanes_8(dots);
    if constexpr (K::kCodes == Codes::kShifted) {
      // Σ (u − shift)·a = Σ u·a − shift·Σ a, all exact.
      sum = _mm256_sub_epi32(sum, broadcast_lane_sum(dot_u8_s8(_mm256_set1_epi8(K::kShift), q)));
    }
    const __m256 scale = _mm256_mul_ps(fp16_of_rows(rows, at), _mm256_set1_ps(in[b].d));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), scale, acc);
    if constexpr (K::kCodes == Codes::kAffine) {
      acc = _mm256_fmadd_ps(fp16_of_rows(rows, at + 2), _mm256_set1_ps(in[b].d_sum), acc);
    }
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, acc);
  for (std::size_t r = 0; r < n; ++r) out[t * out_stride + r0 + r] = lanes[r];
}

constexpr int kTileRows = 4;              // rows of an inputs-in-lanes tile
constexpr std::size_t kPaddedInputs = 5;  // fewer left-over inputs go one at a time, rows in lanes

template <class K>
void matmul(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
            float* out, std::size_t out_stride) {
  const std::size_t left = x.rows % 8;
  const std::size_t lane_inputs = x.rows - (left < kPaddedInputs ? left : 0);
  // Blocks of rows as in matmul_tiled: the block's weights stay in L2, a tile of inputs in L1.
  for (std::size_t block = row_begin; block < row_end; block += kBlockRows) {
    const std::size_t block_end = block + kBlockRows < row_end ? block + kBlockRows : row_end;
    for (std::size_t t = 0; t < lane_inputs; t += 8) {
      const std::size_t n = lane_inputs - t < 8 ? lane_inputs - t : 8;
      std::size_t r = block;
      for (; r + kTileRows <= block_end; r += kTileRows)
        tile_inputs<K, kTileRows>(w, r, x, t, n, out, out_stride);
      for (; r < block_end; ++r) tile_inputs<K, 1>(w, r, x, t, n, out, out_stride);
    }
    for (std::size_t t = lane_inputs; t < x.rows; ++t) {
      for (std::size_t r = block; r < block_end; r += 8) {
        tile_rows<K>(w, r, block_end - r < 8 ? block_end - r : 8, x, t, out, out_stride);
      }
    }
  }
}

// Σa·shift of every block of every input of x, for the shifted panel types; nullptr for the others.
template <class K>
const std::int32_t* shift_terms(const Activations& x, std::size_t blocks) {
  if constexpr (K::kCodes != Codes::kShifted) {
    return nullptr;
  } else {
    return block_offset_terms(x, blocks, K::kShift);
  }
}

// The dword at byte `offset` of each of 8 rows' block (`word`: the half panel's word holding the
// block's first byte, which is `kStart` bytes into it): one word, or the halves of two when it
// straddles them. Every panel type's blocks are an even number of bytes, so kStart is 0 or 2.
template <std::size_t kStart, std::size_t kOffset>
__m256i block_dword(const std::uint8_t* word) {
  constexpr std::size_t kAt = kStart + kOffset;
  const std::uint8_t* first = word + kAt / 4 * kPanelWordBytes;
  if constexpr (kAt % 4 == 0) {
    return load_words(first);
  } else {
    return _mm256_blend_epi16(_mm256_srli_epi32(load_words(first), 16),
                              _mm256_slli_epi32(load_words(first + kPanelWordBytes), 16), 0xaa);
  }
}

// Block b of a panel against T tokens, for the 8 rows of half h: acc[t] = fma(float(dot),
// d_w·d_a, acc[t]), the float work of tile_inputs and tile_rows (and fma(m_w, d_a·Σq_a) for the
// _1 types), from its codes, scale, minimum (the _1 types) and fifth bits (qh) as loaded.
// `shift[t]`: token t's shift term of the block (shifted types). Always inlined: as a call (GCC's
// choice once it served several token counts) its accumulators went through memory and Q4_0
// decode from the caches ran at 60% of the rate.
template <class K, std::size_t T>
[[gnu::always_inline]] inline void block_products(const __m256i (&codes)[K::kCodeWords], __m256 d_w,
                                                  __m256 m_w, __m256i qh, std::size_t b,
                                                  const ActBlock32* const (&a)[T], const __m256i (&shift)[T],
                                                  __m256 (&acc)[T]) {
  __m256i u[8];
  K::unpack(codes, qh, u);
  for (std::size_t t = 0; t < T; ++t) {
    __m256i dot = K::dot_rows(u, a[t][b]);
    if constexpr (K::kCodes == Codes::kShifted) dot = _mm256_sub_epi32(dot, shift[t]);
    const __m256 scale = _mm256_mul_ps(d_w, _mm256_set1_ps(a[t][b].d));
    acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[t]);
    if constexpr (K::kCodes == Codes::kAffine)
      acc[t] = _mm256_fmadd_ps(m_w, _mm256_set1_ps(a[t][b].d_sum), acc[t]);
  }
}

// Block b in the kPanels and kQ5Panels layouts: it starts a word or 2 bytes into one (kStart); its
// fields (the scale at byte 0, the minimum at 2, the fifth bits at kFifthAt, the codes at kCodesAt)
// are whole words or are taken from two.
template <class K, std::size_t T, std::size_t kStart>
[[gnu::always_inline]] inline void panel_block_at(const std::uint8_t* word, std::size_t b,
                                                  const ActBlock32* const (&a)[T], const __m256i (&shift)[T],
                                                  __m256 (&acc)[T]) {
  __m256i codes[K::kCodeWords];
  [&]<std::size_t... i>(std::index_sequence<i...>) {
    ((codes[i] = block_dword<kStart, K::kCodesAt + 4 * i>(word)), ...);
  }
  (std::make_index_sequence<K::kCodeWords>());
  const __m256i w0 = load_words(word);
  const __m256 d_w = fp16_halves<kStart == 2>(w0);
  __m256 m_w = d_w;
  if constexpr (K::kCodes == Codes::kAffine) {
    static_assert(kStart == 0, "the _1 types' blocks are whole words: m is the high half of word 0");
    m_w = fp16_halves<true>(w0);
  }
  __m256i qh = _mm256_setzero_si256();
  if constexpr (K::kFifthAt != 0) qh = block_dword<kStart, K::kFifthAt>(word);
  block_products<K, T>(codes, d_w, m_w, qh, b, a, shift, acc);
}

// The 8 rows' scales of a pair's first or second block (kPairPanels), as floats.
template <bool kSecond>
__m256 pair_block_scales(const std::uint8_t* pair) {
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(pair + 16 * kSecond)));
}

// Block b in the kPairPanels layout (pair_scales.hpp): `pair` is its pair's first word in the half
// panel, the first block's 8 scales (16 bytes) and then the second's (kSecond); the codes are whole
// words after it.
template <class K, std::size_t T, bool kSecond>
[[gnu::always_inline]] inline void paired_block(const std::uint8_t* pair, std::size_t b,
                                                const ActBlock32* const (&a)[T], const __m256i (&shift)[T],
                                                __m256 (&acc)[T]) {
  static_assert(K::kCodesAt == 2 && K::kFifthAt == 0 && K::kCodes != Codes::kAffine,
                "a paired block is a scale and codes");
  constexpr std::size_t kFirstWord = 1 + (kSecond ? K::kCodeWords : 0);
  __m256i codes[K::kCodeWords];
  for (std::size_t i = 0; i < K::kCodeWords; ++i)
    codes[i] = load_words(pair + (kFirstWord + i) * kPanelWordBytes);
  const __m256 d_w = pair_block_scales<kSecond>(pair);
  block_products<K, T>(codes, d_w, d_w, _mm256_setzero_si256(), b, a, shift, acc);
}

template <class K, std::size_t T>
[[gnu::always_inline]] inline void panel_block(const std::uint8_t* panel, std::size_t b, std::size_t h,
                                               const ActBlock32* const (&a)[T], const __m256i (&shift)[T],
                                               __m256 (&acc)[T]) {
  if constexpr (K::kLayout == Repacking::kPairPanels) {
    // A pair of blocks is K::kBytes / 2 words.
    const std::uint8_t* pair = panel + b / 2 * (K::kBytes / 2) * kPanelWordBytes + 32 * h;
    if (b % 2 == 0) {
      paired_block<K, T, false>(pair, b, a, shift, acc);
    } else {
      paired_block<K, T, true>(pair, b, a, shift, acc);
    }
  } else {
    const std::size_t at = b * K::kBytes;
    const std::uint8_t* word = panel + at / 4 * kPanelWordBytes + 32 * h;
    if constexpr (K::kBytes % 4 == 0) {
      panel_block_at<K, T, 0>(word, b, a, shift, acc);
    } else if (at % 4 == 0) {
      panel_block_at<K, T, 0>(word, b, a, shift, acc);
    } else {
      panel_block_at<K, T, 2>(word, b, a, shift, acc);
    }
  }
}

// Token t0 + t's shift terms of block b, as vectors (zero for the unshifted types).
template <std::size_t T>
void block_shifts(const std::int32_t* terms, std::size_t blocks, std::size_t t0, std::size_t b,
                  __m256i (&shift)[T]) {
  for (std::size_t t = 0; t < T; ++t)
    shift[t] = terms == nullptr ? _mm256_setzero_si256() : _mm256_set1_epi32(terms[(t0 + t) * blocks + b]);
}

// Decode streams each panel from memory once; the kernel asks for the lines a few blocks ahead.
constexpr std::size_t kPrefetchBytes = 4096;

// Rows [row_begin, row_end) from repacked panels (row_begin a multiple of 16) against one input.
// Two or more inputs (streams decoding together) take prompt_panels' passes instead, each block's
// codes unpacked once for all of a pass: one input at a time over a panel in L1 was 0.4–0.8× as
// fast for 2–8 inputs (kernels_bench batch, Q4_0, Q5_0, Q8_0, IQ4_NL).
template <class K>
void decode_panels(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
                   float* out, std::size_t out_stride) {
  const std::size_t stride = panel_stride(w.row_bytes);
  const std::size_t blocks = w.cols / 32;
  const std::int32_t* terms = shift_terms<K>(x, blocks);
  const ActBlock32* const in[1] = {act_row(x, 0)};
  for (std::size_t r0 = row_begin; r0 < row_end; r0 += kPanelRows) {
    const std::uint8_t* panel = w.repacked + r0 / kPanelRows * stride;
    const std::size_t n = row_end - r0 < kPanelRows ? row_end - r0 : kPanelRows;
    __m256 acc[2][1] = {{_mm256_setzero_ps()}, {_mm256_setzero_ps()}};
    for (std::size_t b = 0; b < blocks; ++b) {
      // Block b's words (those starting in it), half before each half panel: in one burst per
      // two blocks, Q8_0 read 79–88% as fast as plain loads read memory, spread 89–93%
      // (kernels_bench decode/dram of_read, Zen 3).
      const std::size_t first = b * K::kBytes / 4, end = (b + 1) * K::kBytes / 4, mid = (first + end) / 2;
      const std::uint8_t* ahead = panel + kPrefetchBytes;
      __m256i shift[1];
      block_shifts(terms, blocks, 0, b, shift);
      for (std::size_t line = first; line < mid; ++line)
        _mm_prefetch(reinterpret_cast<const char*>(ahead + line * kPanelWordBytes), _MM_HINT_T0);
      panel_block<K, 1>(panel, b, 0, in, shift, acc[0]);
      for (std::size_t line = mid; line < end; ++line)
        _mm_prefetch(reinterpret_cast<const char*>(ahead + line * kPanelWordBytes), _MM_HINT_T0);
      panel_block<K, 1>(panel, b, 1, in, shift, acc[1]);
    }
    store_panel_rows(acc, n, 0, out + r0, out_stride);
  }
}

// Prompt passes over the panels: T tokens from t0 against one panel (`rows` of its 16 stored),
// each word realigned once for all T.
template <class K, std::size_t T>
void panel_tokens(const std::uint8_t* panel, std::size_t cols, const Activations& x,
                  const std::int32_t* terms, std::size_t t0, std::size_t rows, float* out,
                  std::size_t out_stride) {
  const ActBlock32* in[T];
  for (std::size_t t = 0; t < T; ++t) in[t] = act_row(x, t0 + t);
  __m256 acc[2][T];
  for (auto& half : acc) {
    for (__m256& v : half) v = _mm256_setzero_ps();
  }
  const std::size_t blocks = cols / 32;
  for (std::size_t b = 0; b < blocks; ++b) {
    __m256i shift[T];
    block_shifts(terms, blocks, t0, b, shift);
    panel_block<K, T>(panel, b, 0, in, shift, acc[0]);
    panel_block<K, T>(panel, b, 1, in, shift, acc[1]);
  }
  store_panel_rows(acc, rows, t0, out, out_stride);
}

// Q8_0 block b of one half panel (`pair`: its pair's first word there, kPairPanels) against T tokens, the
// word loop outside the token loop: each code word and its |w| are formed once and meet the T tokens in
// turn, and only the T int32 sums and T float sums stay live. (panel_block holds a block's eight words for
// all tokens: with Q8_0's eight words and their eight |w|, GCC spilled the accumulators to the stack; this
// measured 10–14% faster, one thread and two, 512 tokens.) The float work is panel_block's: acc[t] =
// fma(float(dot), d_w·d_a, acc[t]). kSecond: the pair's second block.
template <std::size_t T, bool kSecond>
[[gnu::always_inline]] inline void q8_0_half_block(const std::uint8_t* pair, const ActBlock32* const (&a)[T],
                                                   std::size_t b, __m256 (&acc)[T]) {
  const __m256i ones = _mm256_set1_epi16(1);
  const std::uint8_t* codes = pair + (kSecond ? 9 : 1) * kPanelWordBytes;
  __m256i dot[T];
  for (std::size_t t = 0; t < T; ++t) dot[t] = _mm256_setzero_si256();
#pragma GCC unroll 1
  // Not unrolled: unrolled by 8, GCC hoisted the broadcasts and measured 3% slower.
  for (std::size_t i = 0; i < 8; ++i) {
    const __m256i w = load_words(codes + kPanelWordBytes * i);
    const __m256i magnitude = _mm256_sign_epi8(w, w);
    for (std::size_t t = 0; t < T; ++t) {
      const __m256i q = _mm256_sign_epi8(broadcast_u32(a[t][b].q + 4 * i), w);
      dot[t] = _mm256_add_epi32(dot[t], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, q), ones));
    }
  }
  const __m256 d_w = pair_block_scales<kSecond>(pair);
  for (std::size_t t = 0; t < T; ++t)
    acc[t] =
        _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[t]), _mm256_mul_ps(d_w, _mm256_set1_ps(a[t][b].d)), acc[t]);
}

// Q8_0 prompt passes: T tokens from t0 against one panel, one half panel after the other (a
// panel of 2048 columns is 34 KiB; the second half's pass finds its lines in L2).
template <std::size_t T>
void q8_0_panel_tokens(const std::uint8_t* panel, std::size_t cols, const Activations& x, std::size_t t0,
                       std::size_t rows, float* out, std::size_t out_stride) {
  const ActBlock32* in[T];
  for (std::size_t t = 0; t < T; ++t) in[t] = act_row(x, t0 + t);
  __m256 acc[2][T];
  const std::size_t blocks = cols / 32;
  for (std::size_t h = 0; h < 2; ++h) {
    for (__m256& v : acc[h]) v = _mm256_setzero_ps();
    const std::uint8_t* half = panel + 32 * h;
    // Two blocks are 68 bytes, 17 words: their scales, the first's codes, the second's.
    std::size_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
      const std::uint8_t* pair = half + b / 2 * 17 * kPanelWordBytes;
      q8_0_half_block<T, false>(pair, in, b, acc[h]);
      q8_0_half_block<T, true>(pair, in, b + 1, acc[h]);
    }
    if (b < blocks) q8_0_half_block<T, false>(half + b / 2 * 17 * kPanelWordBytes, in, b, acc[h]);
  }
  store_panel_rows(acc, rows, t0, out, out_stride);
}

// Rows [row_begin, row_end) from repacked panels (row_begin a multiple of 16), K::kPassTokens
// tokens at a time (Q8_0's passes hold only a word and the tokens' sums).
template <class K>
void prompt_panels(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
                   float* out, std::size_t out_stride) {
  constexpr bool kQ8_0 = std::is_same_v<K, Q8_0>;
  const std::size_t stride = panel_stride(w.row_bytes);
  const std::int32_t* terms = shift_terms<K>(x, w.cols / 32);
  panel_passes<K::kPassTokens>(
      row_begin / kPanelRows, (row_end + kPanelRows - 1) / kPanelRows, x.rows,
      [&]<std::size_t T>(std::size_t p, std::size_t t0) {
        const std::size_t r = p * kPanelRows;
        const std::size_t n = row_end - r < kPanelRows ? row_end - r : kPanelRows;
        if constexpr (kQ8_0) {
          q8_0_panel_tokens<T>(w.repacked + p * stride, w.cols, x, t0, n, out + r, out_stride);
        } else {
          panel_tokens<K, T>(w.repacked + p * stride, w.cols, x, terms, t0, n, out + r, out_stride);
        }
      });
}

// Rows [first, first + n) (n ≤ 8, within one half panel) back in their stored encoding, each
// row_bytes from out + i·row_bytes: eight words of the eight rows transposed at a time (an 8 × 8
// dword transpose), the last words of a row one by one.
void unpack_half_panel(const std::uint8_t* panels, std::size_t row_bytes, std::size_t first, std::size_t n,
                       std::uint8_t* out) {
  const std::uint8_t* half = panels + first / kPanelRows * panel_stride(row_bytes) + 4 * (first % kPanelRows);
  const std::size_t whole = row_bytes / 4;
  std::size_t k = 0;
  if (first % 8 == 0) {
    for (; k + 8 <= whole; k += 8) {
      __m256i v[8], t[8], u[8];
      for (std::size_t j = 0; j < 8; ++j) v[j] = load_words(half + (k + j) * kPanelWordBytes);
      for (std::size_t j = 0; j < 8; j += 2) {
        t[j] = _mm256_unpacklo_epi32(v[j], v[j + 1]);
        t[j + 1] = _mm256_unpackhi_epi32(v[j], v[j + 1]);
      }
      for (std::size_t j = 0; j < 8; j += 4) {
        u[j] = _mm256_unpacklo_epi64(t[j], t[j + 2]);
        u[j + 1] = _mm256_unpackhi_epi64(t[j], t[j + 2]);
        u[j + 2] = _mm256_unpacklo_epi64(t[j + 1], t[j + 3]);
        u[j + 3] = _mm256_unpackhi_epi64(t[j + 1], t[j + 3]);
      }
      // u[r] holds row r's words k..k+3 in its low half and row r + 4's in its high half; u[4 + r]
      // the words k+4..k+7 of the same rows.
      for (std::size_t r = 0; r < 4; ++r) {
        const __m256i low = _mm256_permute2x128_si256(u[r], u[4 + r], 0x20);
        const __m256i high = _mm256_permute2x128_si256(u[r], u[4 + r], 0x31);
        if (r < n) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + r * row_bytes + 4 * k), low);
        if (r + 4 < n)
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (r + 4) * row_bytes + 4 * k), high);
      }
    }
  }
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t at = 4 * k; at < row_bytes; at += 4) {
      const std::size_t bytes = row_bytes - at < 4 ? row_bytes - at : 4;
      std::memcpy(out + r * row_bytes + at, half + at / 4 * kPanelWordBytes + 4 * r, bytes);
    }
  }
}

// The table entry of the types read from panels: from the panels, one input alone or K::kPassTokens
// at a time for more; a row range that does not start a panel from rows unpacked from them, a
// block of rows at a time. The bits are the same.
template <class K>
void matmul_panels(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
                   float* out, std::size_t out_stride) {
  if (row_end <= row_begin || x.rows == 0) return;
  if (w.repacking == K::kLayout && row_begin % kPanelRows == 0) {
    if (x.rows == 1) return decode_panels<K>(w, row_begin, row_end, x, out, out_stride);
    return prompt_panels<K>(w, row_begin, row_end, x, out, out_stride);
  }
  if (w.repacking != K::kLayout) return matmul<K>(w, row_begin, row_end, x, out, out_stride);
  std::uint8_t* rows = scratch(2, kBlockRows * w.row_bytes);
  for (std::size_t r0 = row_begin; r0 < row_end; r0 += kBlockRows) {
    const std::size_t n = row_end - r0 < kBlockRows ? row_end - r0 : kBlockRows;
    if constexpr (K::kLayout == Repacking::kPairPanels) {
      // Row by row (the model never deals a range off a panel boundary).
      for (std::size_t i = 0; i < n; ++i) unpack_repacked_row(w, r0 + i, rows + i * w.row_bytes);
    } else {
      for (std::size_t i = 0; i < n;) {
        // Up to the end of the half panel holding row r0 + i.
        const std::size_t in_half = 8 - (r0 + i) % 8;
        const std::size_t take = n - i < in_half ? n - i : in_half;
        unpack_half_panel(w.repacked, w.row_bytes, r0 + i, take, rows + i * w.row_bytes);
        i += take;
      }
    }
    if constexpr (K::kLayout == Repacking::kQ5Panels) restore_fifth_bits_rows(w.type, rows, n, w.row_bytes);
    const WeightMatrix part{w.type, rows, n, w.cols, w.row_bytes, nullptr};
    matmul<K>(part, 0, n, x, out + r0, out_stride);
  }
}

template <class K>
void add_panels(MatmulSlots& slots, Repacking (&repacking)[kTypeSlots], tensor::TensorType type) {
  slots[static_cast<std::size_t>(type)] = matmul_panels<K>;
  repacking[static_cast<std::size_t>(type)] = K::kLayout;
}

}  // namespace

const std::int32_t* block_offset_terms(const Activations& x, std::size_t blocks, int offset) {
  auto* terms = reinterpret_cast<std::int32_t*>(scratch(1, x.rows * blocks * sizeof(std::int32_t)));
  const __m256i bytes = _mm256_set1_epi8(static_cast<char>(offset));
  for (std::size_t t = 0; t < x.rows; ++t) {
    const ActBlock32* in = act_row(x, t);
    for (std::size_t b = 0; b < blocks; ++b) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[b].q));
      terms[t * blocks + b] = _mm256_cvtsi256_si32(broadcast_lane_sum(dot_u8_s8(bytes, q)));
    }
  }
  return terms;
}

void add_legacy_kernels(MatmulSlots& slots, Repacking (&repacking)[kTypeSlots]) {
  using tensor::TensorType;
  add_panels<Q8_0>(slots, repacking, TensorType::kQ8_0);
  add_panels<Q4_0>(slots, repacking, TensorType::kQ4_0);
  add_panels<Q4_1>(slots, repacking, TensorType::kQ4_1);
  add_panels<Iq4Nl>(slots, repacking, TensorType::kIQ4_NL);
  add_panels<Q5_0>(slots, repacking, TensorType::kQ5_0);
  add_panels<Q5_1>(slots, repacking, TensorType::kQ5_1);
}

}  // namespace pensieve::kernels::avx2
