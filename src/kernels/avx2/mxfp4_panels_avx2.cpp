// kernels/avx2/mxfp4_panels_avx2: MXFP4 (gpt-oss's expert type) read from repacked panels
// (panel_layout.hpp), the 8 rows of a half panel in the vector lanes, as legacy_avx2.cpp reads
// Q4_0. On the row kernels MXFP4 decoded 11.5–12.7 GB/s a core from L2 and ran prompts at
// 101–108 GOP/s, half of Q4_0's rates; here 20.2–20.7 GB/s and 153–195 GOP/s (kernels_bench, Zen
// 3, the two binaries alternated; BENCHMARKS.md, eighteenth session). One token takes both half
// panels at once, so each activation broadcast meets 16 rows and each line of the panel is read
// once.
//
// Its 17-byte blocks fill a whole number of words four at a time (68 bytes, 17 words): in such a
// unit block j's scale byte is byte j of word 17j / 4 (0, 4, 8, 12), and its 16 code bytes start
// (17j + 1) % 4 = 1, 2, 3, 0 bytes into word (17j + 1) / 4, so the first three blocks' code words
// are realigned from two words each. A code word holds values 4i..4i+3 (low nibbles) and
// 16 + 4i.. (high nibbles), as Q4_0's.
//
// The codes are looked up as twice their E2M1 value plus 12 (0..24), so maddubs meets unsigned
// bytes; Σ(u − 12)·a = Σu·a − 12·Σa, all exact. A pair sum stays below 2·24·127, so four of them
// (one nibble of a block's four words) fit int16 and are widened before the other four join.
// Each (row, token) pair then does what the row kernels did, per block in order from 0:
//   acc = fma(float(Σ w·a), s_w·d_a, acc)
// with s_w the block's halved E8M0 scale, so every variant and layout gives the same bits.
#include "kernels/avx2/avx2_common.hpp"
#include "kernels/avx2/panel_passes.hpp"
#include "kernels/panel_layout.hpp"

namespace pensieve::kernels::avx2 {
namespace {

constexpr std::size_t kBlockBytes = 17;
constexpr std::size_t kUnitBlocks = 4;
constexpr std::size_t kUnitWords = kUnitBlocks * kBlockBytes / 4;
constexpr int kOffset = 12;  // added to the doubled codes to make them unsigned
// Tokens per pass over a panel for prompts: each block's looked-up codes serve them all. Against 3,
// 4 ran 1.08× as fast, 6 1.08–1.16× as fast as 4, 8 less (512 tokens, 2048×2048 and 8192×2048,
// alternated in one process), though from 4 on some accumulators live in memory.
constexpr std::size_t kPassTokens = 6;
// Decode streams each panel from memory once: the lines of each unit are asked for this far
// ahead, a few with each block (as the other AVX2 decode kernels do).
constexpr std::size_t kPrefetchBytes = 4096;

// Twice the E2M1 value of each code, plus kOffset.
__m256i offset_codes() {
  return _mm256_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0, 12, 13, 14, 15, 16, 18,
                          20, 24, 12, 11, 10, 9, 8, 6, 4, 0);
}

// Half of 2^(e − 127) from the E8M0 byte e in each dword, built from its float bits: 2^(e − 128)
// is a subnormal for e < 2. (tensor/mxfp4_layout.hpp has the scalar form.)
__m256 e8m0_half_scale(__m256i e) {
  const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23);
  const __m256i subnormal = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), e);
  return _mm256_castsi256_ps(
      _mm256_blendv_epi8(normal, subnormal, _mm256_cmpgt_epi32(_mm256_set1_epi32(2), e)));
}

const ActBlock32* act_row(const Activations& x, std::size_t t) {
  return reinterpret_cast<const ActBlock32*>(x.data + t * x.stride);
}

// Code word i of block kJ of a unit (`half`: the unit's word 0 in a half panel's lanes).
template <std::size_t kJ>
[[gnu::always_inline]] inline __m256i code_word(const std::uint8_t* half, std::size_t i) {
  constexpr std::size_t kStart = kBlockBytes * kJ + 1;  // the codes' first byte in the unit
  constexpr std::size_t kWord = kStart / 4;
  constexpr int kShift = 8 * static_cast<int>(kStart % 4);
  const __m256i first = load_words(half + (kWord + i) * kPanelWordBytes);
  if constexpr (kShift == 0) {
    return first;
  } else {
    return _mm256_or_si256(
        _mm256_srli_epi32(first, kShift),
        _mm256_slli_epi32(load_words(half + (kWord + i + 1) * kPanelWordBytes), 32 - kShift));
  }
}

// The scale of block kJ of a unit, s_w, for the 8 rows of a half panel.
template <std::size_t kJ>
[[gnu::always_inline]] inline __m256 block_scale(const std::uint8_t* half) {
  const __m256i word = load_words(half + kBlockBytes * kJ / 4 * kPanelWordBytes);
  return e8m0_half_scale(
      _mm256_and_si256(_mm256_srli_epi32(word, 8 * static_cast<int>(kJ)), _mm256_set1_epi32(0xff)));
}

// The looked-up codes u of one nibble (kHigh: the high one) of a code word.
template <bool kHigh>
[[gnu::always_inline]] inline __m256i lookup(__m256i codes) {
  const __m256i four = _mm256_set1_epi8(0x0f);
  return _mm256_shuffle_epi8(offset_codes(),
                             _mm256_and_si256(kHigh ? _mm256_srli_epi16(codes, 4) : codes, four));
}

// acc = fma(float(Σu·a over the two nibbles' pair sums − kOffset·Σa), s_w·d_a, acc).
[[gnu::always_inline]] inline void accumulate(__m256i low_pairs, __m256i high_pairs, std::int32_t term,
                                              __m256 s_w, float d_a, __m256& acc) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i dot = _mm256_sub_epi32(
      _mm256_add_epi32(_mm256_madd_epi16(low_pairs, ones), _mm256_madd_epi16(high_pairs, ones)),
      _mm256_set1_epi32(term));
  acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(s_w, _mm256_set1_ps(d_a)), acc);
}

// Block kJ of a unit against T tokens, the 8 rows of one half panel (`half`): each code word is
// looked up once for all T.
template <std::size_t kJ, std::size_t T>
[[gnu::always_inline]] inline void unit_block(const std::uint8_t* half, const ActBlock32* const (&a)[T],
                                              const std::int32_t* const (&terms)[T], std::size_t b,
                                              __m256 (&acc)[T]) {
  __m256i low[4], high[4];
#pragma GCC unroll 4
  for (std::size_t i = 0; i < 4; ++i) {
    const __m256i codes = code_word<kJ>(half, i);
    low[i] = lookup<false>(codes);
    high[i] = lookup<true>(codes);
  }
  const __m256 s_w = block_scale<kJ>(half);
#pragma GCC unroll 4
  for (std::size_t t = 0; t < T; ++t) {
    const auto* q = reinterpret_cast<const std::uint8_t*>(a[t][b].q);
    __m256i lo = _mm256_maddubs_epi16(low[0], broadcast_u32(q));
    __m256i hi = _mm256_maddubs_epi16(high[0], broadcast_u32(q + 16));
#pragma GCC unroll 3
    for (std::size_t i = 1; i < 4; ++i) {
      lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(low[i], broadcast_u32(q + 4 * i)));
      hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(high[i], broadcast_u32(q + 16 + 4 * i)));
    }
    accumulate(lo, hi, terms[t][b], s_w, a[t][b].d, acc[t]);
  }
}

// Block kJ of a unit (`unit`: its word 0) against one token, both half panels together: each
// activation broadcast meets 16 rows.
template <std::size_t kJ>
[[gnu::always_inline]] inline void unit_block_one(const std::uint8_t* unit, const ActBlock32& a,
                                                  std::int32_t term, __m256 (&acc)[2][1]) {
  const auto* q = reinterpret_cast<const std::uint8_t*>(a.q);
  __m256i lo[2], hi[2];
#pragma GCC unroll 4
  for (std::size_t i = 0; i < 4; ++i) {
    const __m256i x_low = broadcast_u32(q + 4 * i), x_high = broadcast_u32(q + 16 + 4 * i);
#pragma GCC unroll 2
    for (std::size_t h = 0; h < 2; ++h) {
      const __m256i codes = code_word<kJ>(unit + 32 * h, i);
      const __m256i l = _mm256_maddubs_epi16(lookup<false>(codes), x_low);
      const __m256i u = _mm256_maddubs_epi16(lookup<true>(codes), x_high);
      lo[h] = i == 0 ? l : _mm256_add_epi16(lo[h], l);
      hi[h] = i == 0 ? u : _mm256_add_epi16(hi[h], u);
    }
  }
#pragma GCC unroll 2
  for (std::size_t h = 0; h < 2; ++h)
    accumulate(lo[h], hi[h], term, block_scale<kJ>(unit + 32 * h), a.d, acc[h][0]);
}

// Lines [kFirst, kEnd) of the unit kPrefetchBytes ahead of `unit` (decode: a prompt pass meets
// each panel several times, from the cache). Past the matrix's end a prefetch is harmless.
template <std::size_t kFirst, std::size_t kEnd>
[[gnu::always_inline]] inline void prefetch_lines(const std::uint8_t* unit) {
#pragma GCC unroll 8
  for (std::size_t line = kFirst; line < kEnd; ++line)
    _mm_prefetch(reinterpret_cast<const char*>(unit + kPrefetchBytes + line * kPanelWordBytes), _MM_HINT_T0);
}

// T tokens from t0 against one panel (16 rows, `rows` of them stored) to out + t·out_stride.
template <std::size_t T>
void panel_tokens(const std::uint8_t* panel, std::size_t blocks, const Activations& x,
                  const std::int32_t* terms, std::size_t t0, std::size_t rows, float* out,
                  std::size_t out_stride) {
  const ActBlock32* a[T];
  const std::int32_t* token_terms[T];
#pragma GCC unroll 4
  for (std::size_t t = 0; t < T; ++t) {
    a[t] = act_row(x, t0 + t);
    token_terms[t] = terms + (t0 + t) * blocks;
  }
  __m256 acc[2][T];
  for (auto& half : acc) {
    for (__m256& v : half) v = _mm256_setzero_ps();
  }
  const std::size_t whole = blocks / kUnitBlocks;
  for (std::size_t u = 0; u <= whole; ++u) {
    const std::size_t b = u * kUnitBlocks;
    const std::size_t left = blocks - b;  // blocks in this unit, if fewer than four
    if (u == whole && left == 0) break;
    const std::uint8_t* unit = panel + u * kUnitWords * kPanelWordBytes;
    if constexpr (T == 1) {
      // One token: the unit's lines are read once, both halves together (half by half, each line
      // read twice 17 lines apart, decoded 1.25–1.27× slower from memory).
      prefetch_lines<0, 5>(unit);
      unit_block_one<0>(unit, a[0][b], token_terms[0][b], acc);
      prefetch_lines<5, 9>(unit);
      if (u < whole || left > 1) unit_block_one<1>(unit, a[0][b + 1], token_terms[0][b + 1], acc);
      prefetch_lines<9, 13>(unit);
      if (u < whole || left > 2) unit_block_one<2>(unit, a[0][b + 2], token_terms[0][b + 2], acc);
      prefetch_lines<13, kUnitWords>(unit);
      if (u < whole) unit_block_one<3>(unit, a[0][b + 3], token_terms[0][b + 3], acc);
    } else {
#pragma GCC unroll 2
      for (std::size_t h = 0; h < 2; ++h) {
        const std::uint8_t* half = unit + 32 * h;
        unit_block<0, T>(half, a, token_terms, b, acc[h]);
        if (u < whole || left > 1) unit_block<1, T>(half, a, token_terms, b + 1, acc[h]);
        if (u < whole || left > 2) unit_block<2, T>(half, a, token_terms, b + 2, acc[h]);
        if (u < whole) unit_block<3, T>(half, a, token_terms, b + 3, acc[h]);
      }
    }
  }
  store_panel_rows(acc, rows, t0, out, out_stride);
}

// The table entry: rows [row_begin, row_end) × every input, from their panels (panels_of).
void matmul(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
            float* out, std::size_t out_stride) {
  if (row_end <= row_begin || x.rows == 0) return;
  const std::size_t blocks = w.cols / 32;
  const std::int32_t* terms = block_offset_terms(x, blocks, kOffset);
  panel_matmul<kPassTokens>(
      w, row_begin, row_end, x.rows,
      [&]<std::size_t T>(const std::uint8_t* panel, std::size_t n, std::size_t t0, std::size_t r) {
        panel_tokens<T>(panel, blocks, x, terms, t0, n, out + row_begin + r, out_stride);
      });
}

}  // namespace

void add_mxfp4_panel_kernels(MatmulSlots& slots, Repacking (&repacking)[kTypeSlots]) {
  const auto mxfp4 = static_cast<std::size_t>(tensor::TensorType::kMXFP4);
  slots[mxfp4] = matmul;
  repacking[mxfp4] = Repacking::kPanels;
}

}  // namespace pensieve::kernels::avx2
