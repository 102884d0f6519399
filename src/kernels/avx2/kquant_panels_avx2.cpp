// kernels/avx2/kquant_panels_avx2: Q4_K and Q5_K read from repacked panels (panel_layout.hpp), the
// vector lanes over the rows: a panel's two halves of 8 rows each go through together.
//
// With the lanes over one row's columns (kquant_avx2.cpp) every 32 values of every row end in a
// float conversion and multiply-add of their own, which took longer than memory took to deliver
// the weights. Here a dword of 8 rows is one load; maddubs meets it with one token's 4 activation
// bytes broadcast, so lane r accumulates row r's products, and each group's scale, conversion and
// float work is done for 8 rows at once. Each broadcast serves both halves (16 rows). The same
// code serves one token (decode) and up to 3 at a time (prefill), each dword unpacked once for all
// of them; with 4, the 8 accumulators, the codes and the broadcasts outgrew the 16 registers and
// GCC kept one accumulator in memory.
//
// Q5_K is Q4_K with a fifth bit per code (KPanels<true>): on its row kernel it ran prompts at
// 148–155 GOP/s and decoded 12.7 GB/s a core from cache; here 212–219 and 16.3–16.7
// (kernels_bench, Zen 3).
//
// Each (row, token) pair follows one fixed sequence of float operations per super-block,
// whatever else shares the call (the kernel table's contract); integer sums are exact, so their
// order is free:
//   f = fma(float(s_g·Σq·a), d_a[g], f), g = 0..7 from f = 0;
//   c_g = float(Σa_g)·d_a[g] (per token) and n = fma(float(m_g), c_g, n), g = 0..7 from n = 0;
//   then acc = fma(f, d, acc), acc = fnmadd(n, dmin, acc).
// c_g is formed once per token for all rows; before, each row's m_g·Σa_g took a multiply-add,
// a conversion and a multiply-add of its own per token.
// maddubs pair sums of 4-bit codes stay below 2·15·128, so a group's eight stay below 32767.
//
// Q6_K was written the same way twice (one token: a half's four runs at once, each word read once;
// then both halves at once, as Q4_K) and measured no faster than its row kernel from memory, and
// slower for prompts: its 6-bit codes take two loads and five operations a dword, every other
// block starts mid-word, and its pair sums must be widened every second word, so a pass of 3
// tokens runs out of registers (BENCHMARKS.md, thirteenth session). It reads rows rearranged
// within each block instead (kquant_avx2.cpp).
#include "kernels/avx2/avx2_common.hpp"
#include "kernels/avx2/panel_passes.hpp"
#include "kernels/panel_layout.hpp"

namespace pensieve::kernels::avx2 {
namespace {

// Decode streams each panel from memory once; the kernel asks for the lines of each block this
// many bytes ahead of it (as far as legacy_avx2.cpp's decode; 8 and 16 KiB measured no better).
constexpr std::size_t kPrefetchBytes = 4096;

// The lines of a block 4 KiB ahead, asked for a few at a time over the block's 8 groups rather
// than all 36 at its start: a burst of prefetches left the core reading 62–79% as fast as plain
// loads read memory, spread 80–90% (kernels_bench decode/dram of_read, Zen 3).
class Prefetch {
 public:
  static constexpr int kSteps = 8;

  // `ahead`: word 0 of the block kPrefetchBytes ahead; nullptr asks for nothing.
  Prefetch(const std::uint8_t* ahead, std::size_t lines) : ahead_(ahead), lines_(lines) {}

  void step(int s) const {
    if (ahead_ == nullptr) return;
    const std::size_t per_step = (lines_ + kSteps - 1) / kSteps;
    const std::size_t begin = per_step * static_cast<std::size_t>(s);
    const std::size_t end = begin + per_step < lines_ ? begin + per_step : lines_;
    // Reading past the panel's end is harmless: a prefetch never faults.
    for (std::size_t line = begin; line < end; ++line)
      _mm_prefetch(reinterpret_cast<const char*>(ahead_ + line * kPanelWordBytes), _MM_HINT_T0);
  }

 private:
  const std::uint8_t* ahead_;
  std::size_t lines_;
};

// A byte shuffle applying `pattern` (byte indices within a dword; 0x80 and above give zero) to
// every dword of a vector.
__m256i dword_shuffle(std::uint32_t pattern) {
  const auto at = [pattern](std::uint32_t dword) { return static_cast<int>(pattern + dword * 0x04040404u); };
  return _mm256_setr_epi32(at(0), at(1), at(2), at(3), at(0), at(1), at(2), at(3));
}

// Byte i of each dword of v, as the same int16 twice (zero-extended).
__m256i unsigned_byte_pair(__m256i v, std::uint32_t i) {
  return _mm256_shuffle_epi8(v, dword_shuffle(0x80008000u | i << 16 | i));
}

// Q4_K: { fp16 d; fp16 dmin; u8 scales[12]; u8 qs[128]; } — 36 words, word-aligned in a panel.
// qs bytes 32k..32k+31 hold value l of group 2k (low nibble) and of group 2k + 1 (high nibble).
// Q5_K (kFifth): { fp16 d; fp16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; } — 44 words, also
// word-aligned: Q4_K's codes and scales plus a fifth bit, value l of group g having it at bit g
// of qh[l]. Its maddubs pair sums reach 2·31·128, so a group's words are summed four at a time
// and widened (with the scale) in between; the integer sum, and so the float work, is the same.
// Both halves of a panel go through together: each activation broadcast meets 16 rows, and each
// group's activation figures are broadcast once for them.
template <bool kFifth>
struct KPanels {
  static constexpr std::size_t kBytes = kFifth ? 176 : 144;
  static constexpr std::size_t kCodesWord = kFifth ? 12 : 4;  // the first word of qs
  // Q4_K: 4 outgrew the registers (see the top). Q5_K: 4 measured 212–219 GOP/s against 180–200
  // with 3 (kernels_bench prefill, 512 tokens); 5 was no faster, 6 spilled (85–88).
  static constexpr std::size_t kPassTokens = kFifth ? 4 : 3;

  // Group g's 32 values (the low nibbles of its 8 words, kHigh: the high ones) into f.
  template <std::size_t T, bool kHigh>
  static void group(const std::uint8_t* block, const ActBlock256* const (&a)[T], int g,
                    const __m256i (&scale)[2], __m256 (&f)[2][T]) {
    const __m256i four = _mm256_set1_epi8(0x0f);
    __m256i p[2][T];
#pragma GCC unroll 4
    for (std::size_t t = 0; t < T; ++t) p[0][t] = p[1][t] = _mm256_setzero_si256();
    const auto word = [&](int w) {
      const std::uint8_t* at = block + kPanelWordBytes * (kCodesWord + 8 * static_cast<std::size_t>(g / 2) +
                                                          static_cast<std::size_t>(w));
      __m256i codes[2];
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m256i v = load_words(at + 32 * h);
        codes[h] = _mm256_and_si256(kHigh ? _mm256_srli_epi16(v, 4) : v, four);
        if constexpr (kFifth) {
          // Bit g of each qh byte to bit 4; 16-bit shifts carry bits across bytes, never into bit 4.
          const __m256i qh = load_words(block + kPanelWordBytes * static_cast<std::size_t>(4 + w) + 32 * h);
          const __m256i bit = g < 4 ? _mm256_slli_epi16(qh, 4 - g) : _mm256_srli_epi16(qh, g - 4);
          codes[h] = _mm256_or_si256(codes[h], _mm256_and_si256(bit, _mm256_set1_epi8(0x10)));
        }
      }
#pragma GCC unroll 4
      for (std::size_t t = 0; t < T; ++t) {
        const __m256i x = broadcast_u32(a[t]->q + 32 * g + 4 * w);
        p[0][t] = _mm256_add_epi16(p[0][t], _mm256_maddubs_epi16(codes[0], x));
        p[1][t] = _mm256_add_epi16(p[1][t], _mm256_maddubs_epi16(codes[1], x));
      }
    };
    // Words [kFirst, kEnd) into p: unrolled fully for one token; for more, by two (GCC hoisted the
    // broadcasts of all eight words ahead and spilled the accumulators).
    const auto words = [&]<int kFirst, int kEnd>() {
      if constexpr (T == 1) {
#pragma GCC unroll 8
        for (int w = kFirst; w < kEnd; ++w) word(w);
      } else {
#pragma GCC unroll 2
        for (int w = kFirst; w < kEnd; ++w) word(w);
      }
    };
    // p's pair sums widened with the group's scale into sum (kFirstPart: as its first part).
    __m256i sum[2][T];
    const auto widen = [&]<bool kFirstPart>() {
#pragma GCC unroll 4
      for (std::size_t t = 0; t < T; ++t) {
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
          const __m256i part = _mm256_madd_epi16(p[h][t], scale[h]);
          sum[h][t] = kFirstPart ? part : _mm256_add_epi32(sum[h][t], part);
          p[h][t] = _mm256_setzero_si256();
        }
      }
    };
    if constexpr (kFifth) {
      // Q5_K's pair sums (below 2·31·128 a word) are widened every four words.
      words.template operator()<0, 4>();
      widen.template operator()<true>();
      words.template operator()<4, 8>();
      widen.template operator()<false>();
    } else {
      words.template operator()<0, 8>();
      widen.template operator()<true>();
    }
#pragma GCC unroll 4
    for (std::size_t t = 0; t < T; ++t) {
      const __m256 d_a = _mm256_set1_ps(a[t]->d[g]);
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) f[h][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[h][t]), d_a, f[h][t]);
    }
  }

  // The 6-bit scales (kMins: minimums) of groups 0..3 (kHigh: 4..7), a byte in each dword (the
  // packing: kquant_avx2.cpp).
  template <bool kMins, bool kHigh>
  static __m256i six_bits(const std::uint8_t* half) {
    const __m256i six = _mm256_set1_epi8(0x3f), four = _mm256_set1_epi8(0x0f), two = _mm256_set1_epi8(0x03);
    const __m256i p = load_words(half + kPanelWordBytes * (kMins ? 2 : 1));
    if constexpr (!kHigh) return _mm256_and_si256(p, six);
    const __m256i p2 = load_words(half + kPanelWordBytes * 3);
    const __m256i low = _mm256_and_si256(kMins ? _mm256_srli_epi32(p2, 4) : p2, four);
    return _mm256_or_si256(low, _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(p, 6), two), 4));
  }

  // `block`: word 0 of the block (half panel 0; half 1 is 32 bytes on).
  template <std::size_t T>
  static void block(const std::uint8_t* block, const ActBlock256* const (&a)[T], __m256 (&acc)[2][T],
                    const Prefetch& prefetch) {
    __m256i scales[8][2];
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* half = block + 32 * h;
      const __m256i lo = six_bits<false, false>(half), hi = six_bits<false, true>(half);
#pragma GCC unroll 8
      for (int g = 0; g < 8; ++g) scales[g][h] = unsigned_byte_pair(g < 4 ? lo : hi, g % 4);
    }
    __m256 f[2][T];
#pragma GCC unroll 4
    for (std::size_t t = 0; t < T; ++t) f[0][t] = f[1][t] = _mm256_setzero_ps();
      // Not unrolled: fully unrolled, GCC hoists every broadcast of the block ahead and spills them.
#pragma GCC unroll 1
    for (int g = 0; g < 8; g += 2) {
      prefetch.step(g);
      group<T, false>(block, a, g, scales[g], f);
      prefetch.step(g + 1);
      group<T, true>(block, a, g + 1, scales[g + 1], f);
    }
    // The minimums' term: Σ_g m_g·(Σa_g·d_a[g]), the activations' factor formed once per token
    // for all 16 rows (their float sums of a group), the minimums converted once for all tokens.
    __m256 n[2][T];
#pragma GCC unroll 4
    for (std::size_t t = 0; t < T; ++t) n[0][t] = n[1][t] = _mm256_setzero_ps();
    alignas(32) float group_sums[T][8];
#pragma GCC unroll 4
    for (std::size_t t = 0; t < T; ++t) {
      const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[t]->sums));
      const __m256 s = _mm256_cvtepi32_ps(_mm256_madd_epi16(sums, _mm256_set1_epi16(1)));
      _mm256_store_ps(group_sums[t], _mm256_mul_ps(s, _mm256_loadu_ps(a[t]->d)));
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* half = block + 32 * h;
      const __m256i lo = six_bits<true, false>(half), hi = six_bits<true, true>(half);
#pragma GCC unroll 8
      for (int g = 0; g < 8; ++g) {
        const __m256 min =
            _mm256_cvtepi32_ps(_mm256_shuffle_epi8(g < 4 ? lo : hi, dword_shuffle(0x80808000u | g % 4)));
#pragma GCC unroll 4
        for (std::size_t t = 0; t < T; ++t)
          n[h][t] = _mm256_fmadd_ps(min, _mm256_broadcast_ss(&group_sums[t][g]), n[h][t]);
      }
      const __m256i w0 = load_words(half);
      const __m256 d = fp16_halves<false>(w0), dmin = fp16_halves<true>(w0);
#pragma GCC unroll 4
      for (std::size_t t = 0; t < T; ++t)
        acc[h][t] = _mm256_fnmadd_ps(n[h][t], dmin, _mm256_fmadd_ps(f[h][t], d, acc[h][t]));
    }
  }
};

// Block b of the tokens' activation rows, for kT tokens from t0.
template <std::size_t T>
void act_blocks(const Activations& x, std::size_t t0, std::size_t b, const ActBlock256* (&a)[T]) {
#pragma GCC unroll 4
  for (std::size_t t = 0; t < T; ++t)
    a[t] = reinterpret_cast<const ActBlock256*>(x.data + (t0 + t) * x.stride) + b;
}

// T tokens from t0 against one panel (16 rows, `rows` of them stored) to out + t·out_stride.
template <class K, std::size_t T>
void panel_tokens(const std::uint8_t* panel, std::size_t cols, const Activations& x, std::size_t t0,
                  std::size_t rows, float* out, std::size_t out_stride) {
  __m256 acc[2][T];
  for (auto& half : acc) {
    for (__m256& v : half) v = _mm256_setzero_ps();
  }
  const std::size_t blocks = cols / 256;
  for (std::size_t b = 0; b < blocks; ++b) {
    const ActBlock256* a[T];
    act_blocks<T>(x, t0, b, a);
    const std::size_t at = b * K::kBytes;
    const std::uint8_t* first = panel + at / 4 * kPanelWordBytes;
    const Prefetch prefetch(T == 1 ? first + kPrefetchBytes : nullptr, K::kBytes / 4);
    K::template block<T>(first, a, acc, prefetch);
  }
  store_panel_rows(acc, rows, t0, out, out_stride);
}

// The table entry: rows [row_begin, row_end) × every input, from their panels (panels_of).
template <class K>
void matmul(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
            float* out, std::size_t out_stride) {
  if (row_end <= row_begin || x.rows == 0) return;
  panel_matmul<K::kPassTokens>(
      w, row_begin, row_end, x.rows,
      [&]<std::size_t T>(const std::uint8_t* panel, std::size_t n, std::size_t t0, std::size_t r) {
        panel_tokens<K, T>(panel, w.cols, x, t0, n, out + row_begin + r, out_stride);
      });
}

}  // namespace

void add_kquant_panel_kernels(MatmulSlots& slots, Repacking (&repacking)[kTypeSlots]) {
  const auto q4k = static_cast<std::size_t>(tensor::TensorType::kQ4_K);
  const auto q5k = static_cast<std::size_t>(tensor::TensorType::kQ5_K);
  slots[q4k] = matmul<KPanels<false>>;
  repacking[q4k] = Repacking::kPanels;
  slots[q5k] = matmul<KPanels<true>>;
  repacking[q5k] = Repacking::kPanels;
}

}  // namespace pensieve::kernels::avx2
