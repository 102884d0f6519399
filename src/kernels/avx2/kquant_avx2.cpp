// kernels/avx2/kquant_avx2: Q5_K and Q6_K against ActBlock256 activations, whose scale d_a[j]
// covers 32 values — one Q5_K group, or two Q6_K groups. (Q4_K reads repacked panels:
// kquant_panels_avx2.cpp.)
//
// Each 32 values' integer sum is exact, the group's integer scale included: maddubs of the
// unsigned codes (≤ 63) with the activation codes gives int16 pair sums (≤ 2·63·127), and madd
// with the scale both weights and widens them. Per pair and super-block the float work is fixed:
//   f = Σ_j float(sum_j)·d_a[j] (eight fused multiply-adds in j order), acc = fma(f, d, acc)
//   Q5_K also: acc = fma(float(m_g·Σa_g)·d_a[g], -dmin, acc), lanes g = 0..7
//   Q6_K keeps its codes as 0..63 (unsigned): f −= float(32·s_g·Σa_g)·d_a before acc takes it.
// (Folding four groups' sums with hadd before one conversion measured no faster, and is longer.)
#include "kernels/avx2/avx2_common.hpp"

namespace pensieve::kernels::avx2 {
namespace {

constexpr std::size_t kQ5KBytes = 2 + 2 + 12 + 32 + 128;
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

// Q4_K/Q5_K pack eight 6-bit scales and eight 6-bit minimums into 12 bytes (see
// tensor/kquant_layout.hpp): groups 0..3 in the low 6 bits of bytes 0..3 (scales) and 4..7
// (minimums); groups 4..7 in the nibbles of bytes 8..11, with their top 2 bits in the top bits of
// bytes 0..3 and 4..7. Taken four bytes at a time; the scales end as bytes 0..7 of each 128-bit
// lane (for byte shuffles), the minimums as int16 lanes 2g and 2g + 1 (paired with the
// activation's 16-value sums).
struct ScalesMins {
  __m256i scales;
  __m256i mins;
};

ScalesMins kquant_scales(const std::uint8_t* packed) {
  const std::uint32_t a0 = load_u32(packed), a1 = load_u32(packed + 4), a2 = load_u32(packed + 8);
  const std::uint32_t scales_lo = a0 & 0x3f3f3f3fu;
  const std::uint32_t mins_lo = a1 & 0x3f3f3f3fu;
  const std::uint32_t scales_hi = (a2 & 0x0f0f0f0fu) | (((a0 >> 6) & 0x03030303u) << 4);
  const std::uint32_t mins_hi = ((a2 >> 4) & 0x0f0f0f0fu) | (((a1 >> 6) & 0x03030303u) << 4);
  const __m256i both =
      _mm256_broadcastsi128_si256(_mm_setr_epi32(static_cast<int>(scales_lo), static_cast<int>(scales_hi),
                                                 static_cast<int>(mins_lo), static_cast<int>(mins_hi)));
  // Minimum g (byte 8 + g) into int16 lanes 2g, 2g + 1; 0x80 zeroes the high bytes.
  const __m256i pick_mins =
      _mm256_setr_epi8(8, -128, 8, -128, 9, -128, 9, -128, 10, -128, 10, -128, 11, -128, 11, -128, 12, -128,
                       12, -128, 13, -128, 13, -128, 14, -128, 14, -128, 15, -128, 15, -128);
  return {both, _mm256_shuffle_epi8(both, pick_mins)};
}

// Scale byte g of each 128-bit lane of `scales` in every int16 lane.
__m256i broadcast_scale(__m256i scales, int g) {
  return _mm256_shuffle_epi8(scales, _mm256_set1_epi16(static_cast<short>(0x8000 | g)));
}

// The rest of the float work of one pair and one Q5_K super-block.
void kquant_finish(__m256& acc, __m256 f, __m256i mins, const std::uint8_t* b, const ActBlock256& a) {
  // m_g·Σa_g in lane g, each group with its own activation scale.
  const __m256i min_dot = _mm256_madd_epi16(mins, load256(a.sums));
  const __m256 mins_scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(min_dot), _mm256_loadu_ps(a.d));
  acc = _mm256_fmadd_ps(f, _mm256_set1_ps(load_fp16(b)), acc);
  acc = _mm256_fmadd_ps(mins_scaled, _mm256_set1_ps(-load_fp16(b + 2)), acc);
}

// Q5_K: { fp16 d; fp16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; } like Q4_K, plus a fifth bit:
// value l of group g has it at bit g of qh[l].
struct Q5K {
  static constexpr std::size_t kBytes = kQ5KBytes;
  const std::uint8_t* b;
  ScalesMins sm;
  __m256i qh;

  explicit Q5K(const std::uint8_t* block) : b(block), sm(kquant_scales(block + 4)), qh(load256(block + 16)) {}
  __m256i codes(int j) const {
    const __m256i v = load256(b + 48 + 32 * (j / 2));
    const __m256i low = _mm256_and_si256(j % 2 == 0 ? v : _mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
    // Bit j of each qh byte to bit 4; 16-bit shifts carry bits across bytes, never into bit 4.
    const __m256i high = j < 4 ? _mm256_slli_epi16(qh, 4 - j) : _mm256_srli_epi16(qh, j - 4);
    return _mm256_or_si256(low, _mm256_and_si256(high, _mm256_set1_epi8(0x10)));
  }
  __m256i scale(int j) const { return broadcast_scale(sm.scales, j); }
  void finish(__m256& acc, __m256 f, const ActBlock256& a) const { kquant_finish(acc, f, sm.mins, b, a); }
};

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
  slots[static_cast<std::size_t>(TensorType::kQ5_K)] = matmul<Q5K>;
  slots[static_cast<std::size_t>(TensorType::kQ6_K)] = matmul<Q6K>;
}

}  // namespace pensieve::kernels::avx2
