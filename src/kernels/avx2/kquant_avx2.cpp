// kernels/avx2/kquant_avx2: Q6_K against ActBlock256 activations, whose scale d_a[j] covers 32
// values — two Q6_K groups. (Q4_K and Q5_K read repacked panels: kquant_panels_avx2.cpp.)
//
// Each 32 values' integer sum is exact, the group's integer scale included: maddubs of the
// unsigned codes (≤ 63) with the activation codes gives int16 pair sums (≤ 2·63·127), and madd
// with the scale both weights and widens them. Per pair and super-block the float work is fixed:
//   f = Σ_j float(sum_j)·d_a[j] (eight fused multiply-adds in j order), acc = fma(f, d, acc)
//   and the codes are kept as 0..63 (unsigned): f −= float(32·s_g·Σa_g)·d_a before acc takes it.
// (Folding four groups' sums with hadd before one conversion measured no faster, and is longer.)
#include "kernels/avx2/avx2_common.hpp"

namespace pensieve::kernels::avx2 {
namespace {

constexpr std::size_t kQ6KBytes = 128 + 64 + 16 + 2;

__m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// f = Σ_j float(Σ scale_j·(q_j · a_j))·d_a[j] for T inputs at once, eight lanes of partial sums.
// Each 32 codes of the weight block are made once and met with every input's codes while in a
// register.
template <class B, int T>
void scaled_dots(const B& w, const ActBlock256* const (&a)[T], __m256 (&f)[T]) {
  for (int t = 0; t < T; ++t) f[t] = _mm256_setzero_ps();
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    const __m256i q = w.codes(j);
    const __m256i scale = w.scale(j);
    for (int t = 0; t < T; ++t) {
      const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a[t]->q + 32 * j)), scale);
      f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(a[t]->d[j]), f[t]);
    }
  }
}

// Q6_K: { u8 ql[128]; u8 qh[64]; i8 scales[16]; fp16 d; } each half of 128 values takes 64 bytes
// of ql and 32 of qh: value l + 32k (k = 0..3) has its low 4 bits in ql[l + 32(k & 1)] (low
// nibble for k < 2, high for k >= 2), its top 2 bits at bits 2k..2k+1 of qh[l], and scale
// 8·half + 2k + l / 16. Codes are kept as 0..63 (unsigned); the −32 goes through the sums:
// Σ_g s_g·Σ (q − 32)·a = Σ_g s_g·Σ q·a − 32·Σ_g s_g·(Σ a)_g.
struct Q6K {
  static constexpr std::size_t kBytes = kQ6KBytes;
  const std::uint8_t* b;
  __m256i scales16;  // s_g as int16 lane g
  __m256i low8;      // s0..s7 as int16 in both 128-bit lanes
  __m256i high8;     // s8..s15 likewise

  explicit Q6K(const std::uint8_t* block) : b(block) {
    scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 192)));
    low8 = _mm256_permute2x128_si256(scales16, scales16, 0x00);
    high8 = _mm256_permute2x128_si256(scales16, scales16, 0x11);
  }
  __m256i codes(int j) const {
    const int half = j / 4, k = j % 4;
    const __m256i l4 = load256(b + 64 * half + 32 * (k & 1));
    const __m256i h = load256(b + 128 + 32 * half);
    const __m256i low = _mm256_and_si256(k < 2 ? l4 : _mm256_srli_epi16(l4, 4), _mm256_set1_epi8(0x0f));
    // Bits 2k..2k+1 of each qh byte to bits 4..5.
    const __m256i top = k < 2 ? _mm256_slli_epi16(h, 4 - 2 * k) : _mm256_srli_epi16(h, 2 * k - 4);
    return _mm256_or_si256(low, _mm256_and_si256(top, _mm256_set1_epi8(0x30)));
  }
  // Codes 32j..32j+31: scale 2j in the low eight int16 lanes, 2j + 1 in the high eight.
  __m256i scale(int j) const {
    const int g = 2 * (j % 4);
    const __m256i pick = _mm256_setr_epi8(2 * g, 2 * g + 1, 2 * g, 2 * g + 1, 2 * g, 2 * g + 1, 2 * g,
                                          2 * g + 1, 2 * g, 2 * g + 1, 2 * g, 2 * g + 1, 2 * g, 2 * g + 1,
                                          2 * g, 2 * g + 1, 2 * g + 2, 2 * g + 3, 2 * g + 2, 2 * g + 3,
                                          2 * g + 2, 2 * g + 3, 2 * g + 2, 2 * g + 3, 2 * g + 2, 2 * g + 3,
                                          2 * g + 2, 2 * g + 3, 2 * g + 2, 2 * g + 3, 2 * g + 2, 2 * g + 3);
    return _mm256_shuffle_epi8(j < 4 ? low8 : high8, pick);
  }
  void finish(__m256& acc, __m256 f, const ActBlock256& a) const {
    // Σ_g s_g·Σ (q − 32)·a = Σ_g s_g·Σ q·a − 32·Σ_g s_g·(Σ a)_g; lane j of the madd holds the last
    // sum's two groups of 32 values j, which share d_a[j].
    const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(scales16, load256(a.sums)), 5);
    f = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(offset), _mm256_loadu_ps(a.d), f);
    acc = _mm256_fmadd_ps(f, _mm256_set1_ps(load_fp16(b + 208)), acc);
  }
};

// R rows × T inputs; rows one after the other within each super-block, so only one row's
// unpacked block is live at a time.
constexpr std::size_t kDecodePrefetchBytes = 4096;

template <class K>
struct KTile {
  template <int R, int T>
  static void run(const WeightMatrix& w, std::size_t r0, const Activations& x, std::size_t t0, float* out,
                  std::size_t out_stride) {
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    }
    const std::size_t blocks = w.cols / 256;
    for (std::size_t b = 0; b < blocks; ++b) {
      const ActBlock256* a[T];
      for (int t = 0; t < T; ++t) {
        a[t] =
            reinterpret_cast<const ActBlock256*>(x.data + (t0 + static_cast<std::size_t>(t)) * x.stride) + b;
      }
      for (int r = 0; r < R; ++r) {
        const std::uint8_t* at = w.data + (r0 + static_cast<std::size_t>(r)) * w.row_bytes + b * K::kBytes;
        if constexpr (R == 1 && T == 1) {
          // Decode reads the rows once, one after another: ask for the lines a few KiB ahead (a
          // prefetch past the matrix's end never faults).
          for (std::size_t line = 0; line < K::kBytes; line += 64)
            _mm_prefetch(reinterpret_cast<const char*>(at + kDecodePrefetchBytes + line), _MM_HINT_T0);
        }
        const K block(at);
        __m256 f[T];
        scaled_dots(block, a, f);
        for (int t = 0; t < T; ++t) block.finish(acc[r][t], f[t], *a[t]);
      }
    }
    store_tile(acc, r0, t0, out, out_stride);
  }
};

template <class K>
void matmul(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
            float* out, std::size_t out_stride) {
  // One row × 4 inputs: each 32 codes made meet four inputs' codes, and the accumulators, codes
  // and scales of the tile stay in registers. Decode takes one row at a time.
  matmul_tiled<KTile<K>, 1, 4, 1>(w, row_begin, row_end, x, out, out_stride);
}

}  // namespace

void add_kquant_kernels(MatmulSlots& slots) {
  using tensor::TensorType;
  slots[static_cast<std::size_t>(TensorType::kQ6_K)] = matmul<Q6K>;
}

}  // namespace pensieve::kernels::avx2
