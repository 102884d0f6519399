// kernels/avx2/kquant_avx2: the K-quants (Q4_K, Q5_K, Q6_K) against ActBlock256 activations.
//
// A super-block's whole integer sum is exact in int32, scales included: maddubs of the unsigned
// codes (≤ 63) with the activation codes gives int16 pair sums (≤ 2·63·127), and madd with the
// group's integer scale both weights and widens them. So per pair and super-block the float work
// is one or two conversions and fused multiply-adds:
//   Q4_K, Q5_K: acc += float(Σ_g s_g·Σ q·a) · (d·d_a) + float(Σ_g m_g·Σ a) · (-dmin·d_a)
//   Q6_K:       acc += float(Σ_g s_g·Σ (q − 32)·a) · (d·d_a), the −32 through the cached sums.
#include "kernels/avx2/avx2_common.hpp"

namespace pensieve::kernels::avx2 {
namespace {

constexpr std::size_t kQ4KBytes = 2 + 2 + 12 + 128;
constexpr std::size_t kQ5KBytes = 2 + 2 + 12 + 32 + 128;
constexpr std::size_t kQ6KBytes = 128 + 64 + 16 + 2;

// One super-block of one row: the codes of each 32 values, each 32's scales in every int16 lane,
// the offsets' integer factors (paired with the activation's sixteen 16-value sums), float scales.
struct WeightsK {
  __m256i q[8];
  __m256i scale[8];
  __m256i offset;  // Q4_K/Q5_K: m_g in lanes 2g, 2g+1; Q6_K: s_g in lane g
  __m256 d;
  __m256 dmin;  // Q4_K/Q5_K: -dmin
};

struct InputK {
  __m256i q[8];
  __m256i sums;
  __m256 d;
};

struct BaseK {
  static constexpr std::size_t kValues = 256;
  static constexpr std::size_t kActBytes = sizeof(ActBlock256);
  using Weights = WeightsK;
  using Input = InputK;

  static void load(const std::uint8_t* p, InputK& in) {
    const auto* a = reinterpret_cast<const ActBlock256*>(p);
    for (int j = 0; j < 8; ++j) in.q[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a->q + 32 * j));
    in.sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a->sums));
    in.d = _mm256_set1_ps(a->d);
  }

  // Σ_j scale_j · (q_j · a_j), as eight int32 lanes.
  static __m256i scaled_dot(const WeightsK& w, const InputK& in) {
    __m256i sum = _mm256_madd_epi16(_mm256_maddubs_epi16(w.q[0], in.q[0]), w.scale[0]);
    for (int j = 1; j < 8; ++j) {
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(w.q[j], in.q[j]), w.scale[j]));
    }
    return sum;
  }
};

// Q4_K/Q5_K pack eight 6-bit scales and eight 6-bit minimums into 12 bytes (see
// tensor/kquant_layout.hpp): groups 0..3 in the low 6 bits of bytes 0..3 (scales) and 4..7
// (minimums); groups 4..7 in the nibbles of bytes 8..11, with their top 2 bits in the top bits of
// bytes 0..3 and 4..7. Taken four bytes at a time, then spread to the int16 layouts the dot needs.
void kquant_scales(const std::uint8_t* packed, WeightsK& out) {
  const std::uint32_t a0 = load_u32(packed), a1 = load_u32(packed + 4), a2 = load_u32(packed + 8);
  const std::uint32_t scales_lo = a0 & 0x3f3f3f3fu;
  const std::uint32_t mins_lo = a1 & 0x3f3f3f3fu;
  const std::uint32_t scales_hi = (a2 & 0x0f0f0f0fu) | (((a0 >> 6) & 0x03030303u) << 4);
  const std::uint32_t mins_hi = ((a2 >> 4) & 0x0f0f0f0fu) | (((a1 >> 6) & 0x03030303u) << 4);
  // int16 lanes 0..7: s0..s7, lanes 8..15: m0..m7.
  const __m256i sm = _mm256_cvtepu8_epi16(_mm_setr_epi32(static_cast<int>(scales_lo), static_cast<int>(scales_hi),
                                                         static_cast<int>(mins_lo), static_cast<int>(mins_hi)));
  // Each int16 doubled into an int32: lo holds s0..s3 | m0..m3, hi holds s4..s7 | m4..m7.
  const __m256i lo = _mm256_unpacklo_epi16(sm, sm);
  const __m256i hi = _mm256_unpackhi_epi16(sm, sm);
  for (int j = 0; j < 4; ++j) {
    out.scale[j] = _mm256_permutevar8x32_epi32(lo, _mm256_set1_epi32(j));
    out.scale[4 + j] = _mm256_permutevar8x32_epi32(hi, _mm256_set1_epi32(j));
  }
  out.offset = _mm256_permute2x128_si256(lo, hi, 0x31);
}

void kquant_step(__m256& acc, const WeightsK& w, const InputK& in) {
  const __m256i dot = BaseK::scaled_dot(w, in);
  const __m256i mins = _mm256_madd_epi16(w.offset, in.sums);
  acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(w.d, in.d), acc);
  acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_mul_ps(w.dmin, in.d), acc);
}

// Q4_K: { fp16 d; fp16 dmin; u8 scales[12]; u8 qs[128]; } each 32 bytes of qs hold two groups:
// the low nibbles, then the high nibbles.
struct Q4K : BaseK {
  static constexpr std::size_t kBytes = kQ4KBytes;
  static void unpack(const std::uint8_t* b, WeightsK& out) {
    out.d = _mm256_set1_ps(load_fp16(b));
    out.dmin = _mm256_set1_ps(-load_fp16(b + 2));
    kquant_scales(b + 4, out);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    for (int p = 0; p < 4; ++p) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16 + 32 * p));
      out.q[2 * p] = _mm256_and_si256(v, low4);
      out.q[2 * p + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    }
  }
  static void step(__m256& acc, const WeightsK& w, const InputK& in) { kquant_step(acc, w, in); }
};

// Bit g of each byte of qh moved to bit 4 (0x10), the others cleared. The 16-bit shifts carry
// bits across bytes, but never into bit 4 of a byte from the wrong one.
template <int kG>
__m256i fifth_bit(__m256i qh) {
  const __m256i shifted = kG < 4 ? _mm256_slli_epi16(qh, 4 - kG) : _mm256_srli_epi16(qh, kG - 4);
  return _mm256_and_si256(shifted, _mm256_set1_epi8(0x10));
}

// Q5_K: { fp16 d; fp16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; } as Q4_K, plus a fifth bit:
// value l of group g has it at bit g of qh[l].
struct Q5K : BaseK {
  static constexpr std::size_t kBytes = kQ5KBytes;
  static void unpack(const std::uint8_t* b, WeightsK& out) {
    out.d = _mm256_set1_ps(load_fp16(b));
    out.dmin = _mm256_set1_ps(-load_fp16(b + 2));
    kquant_scales(b + 4, out);
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16));
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 48));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 80));
    const __m256i v2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 112));
    const __m256i v3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 144));
    out.q[0] = _mm256_or_si256(_mm256_and_si256(v0, low4), fifth_bit<0>(qh));
    out.q[1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v0, 4), low4), fifth_bit<1>(qh));
    out.q[2] = _mm256_or_si256(_mm256_and_si256(v1, low4), fifth_bit<2>(qh));
    out.q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v1, 4), low4), fifth_bit<3>(qh));
    out.q[4] = _mm256_or_si256(_mm256_and_si256(v2, low4), fifth_bit<4>(qh));
    out.q[5] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v2, 4), low4), fifth_bit<5>(qh));
    out.q[6] = _mm256_or_si256(_mm256_and_si256(v3, low4), fifth_bit<6>(qh));
    out.q[7] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v3, 4), low4), fifth_bit<7>(qh));
  }
  static void step(__m256& acc, const WeightsK& w, const InputK& in) { kquant_step(acc, w, in); }
};

// Q6_K: { u8 ql[128]; u8 qh[64]; i8 scales[16]; fp16 d; } each half of 128 values takes 64 bytes
// of ql and 32 of qh: value l + 32k (k = 0..3) has its low 4 bits in ql[l + 32(k & 1)] (low
// nibble for k < 2, high for k >= 2), its top 2 bits at bits 2k..2k+1 of qh[l], and scale
// 8·half + 2k + l / 16. Codes are kept as 0..63 (unsigned); the −32 goes through the sums.
struct Q6K : BaseK {
  static constexpr std::size_t kBytes = kQ6KBytes;
  static void unpack(const std::uint8_t* b, WeightsK& out) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i top2 = _mm256_set1_epi8(0x30);
    for (int half = 0; half < 2; ++half) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 64 * half));
      const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 64 * half + 32));
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 128 + 32 * half));
      __m256i* q = out.q + 4 * half;
      q[0] = _mm256_or_si256(_mm256_and_si256(a, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), top2));
      q[1] = _mm256_or_si256(_mm256_and_si256(c, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), top2));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), low4), _mm256_and_si256(h, top2));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), low4),
                             _mm256_and_si256(_mm256_srli_epi16(h, 2), top2));
    }
    // Scales s0..s15 as int16; vector j (values 32j..32j+31) takes s_2j in its low eight lanes and
    // s_2j+1 in its high eight.
    const __m256i s = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 192)));
    out.offset = s;
    // Each int16 doubled into an int32: lo holds s0..s3 | s8..s11, hi holds s4..s7 | s12..s15.
    const __m256i lo = _mm256_unpacklo_epi16(s, s);
    const __m256i hi = _mm256_unpackhi_epi16(s, s);
    for (int j = 0; j < 2; ++j) {
      const __m256i pick = _mm256_setr_epi32(2 * j, 2 * j, 2 * j, 2 * j, 2 * j + 1, 2 * j + 1, 2 * j + 1, 2 * j + 1);
      const __m256i pick_upper = _mm256_add_epi32(pick, _mm256_set1_epi32(4));
      out.scale[j] = _mm256_permutevar8x32_epi32(lo, pick);
      out.scale[2 + j] = _mm256_permutevar8x32_epi32(hi, pick);
      out.scale[4 + j] = _mm256_permutevar8x32_epi32(lo, pick_upper);
      out.scale[6 + j] = _mm256_permutevar8x32_epi32(hi, pick_upper);
    }
    out.d = _mm256_set1_ps(load_fp16(b + 208));
  }
  static void step(__m256& acc, const WeightsK& w, const InputK& in) {
    // Σ_g s_g·Σ (q − 32)·a = Σ_g s_g·Σ q·a − 32·Σ_g s_g·(Σ a)_g
    const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(w.offset, in.sums), 5);
    const __m256i dot = _mm256_sub_epi32(scaled_dot(w, in), offset);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(w.d, in.d), acc);
  }
};

template <class K>
void matmul(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x, float* out,
            std::size_t out_stride) {
  matmul_tiled<BlockTile<K>, 4, 4, 4>(w, row_begin, row_end, x, out, out_stride);
}

}  // namespace

void add_kquant_kernels(KernelTable& table) {
  using tensor::TensorType;
  table.matmul_rows[static_cast<std::size_t>(TensorType::kQ4_K)] = matmul<Q4K>;
  table.matmul_rows[static_cast<std::size_t>(TensorType::kQ5_K)] = matmul<Q5K>;
  table.matmul_rows[static_cast<std::size_t>(TensorType::kQ6_K)] = matmul<Q6K>;
}

}  // namespace pensieve::kernels::avx2
