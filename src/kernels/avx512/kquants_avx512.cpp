// kernels/avx512/kquants: the K-quant super-block types (Q4_K, Q5_K, Q6_K) against ActBlock256
// activations. Each type only says how a 256-value block becomes unsigned codes and per-group
// scales (and offsets); int_panels does the rest.
#include "kernels/avx512/entries.hpp"
#include "kernels/avx512/int_panels.hpp"

namespace pensieve::kernels::avx512 {
namespace {

using tensor::TensorType;

inline __m256i load32(const std::uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline void store32(std::uint8_t* q, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), v); }

// Q4_K/Q5_K: 8 six-bit scales and 8 six-bit minimums packed in 12 bytes. Groups 0..3 keep theirs
// in the low 6 bits of bytes 0..3 (scales) and 4..7 (minimums); groups 4..7 keep their low 4 bits
// in the nibbles of bytes 8..11 (scale low, minimum high) and their top 2 bits in the top bits of
// bytes 0..3 (scales) and 4..7 (minimums). value = d·scale·q − dmin·min.
void kquant_scales(const std::uint8_t* b, float* ws, float* wm, std::size_t stride) {
  const float d = load_f16(b), dmin = load_f16(b + 2);
  const std::uint8_t* p = b + 4;
  for (std::size_t g = 0; g < 8; ++g) {
    int scale, min;
    if (g < 4) {
      scale = p[g] & 63;
      min = p[g + 4] & 63;
    } else {
      scale = (p[g + 4] & 0x0f) | ((p[g - 4] >> 6) << 4);
      min = (p[g + 4] >> 4) | ((p[g] >> 6) << 4);
    }
    ws[g * stride] = d * static_cast<float>(scale);
    wm[g * stride] = -dmin * static_cast<float>(min);
  }
}

// Q4_K: { fp16 d; fp16 dmin; u8 scales[12]; u8 qs[128]; } each 64 values take 32 bytes of qs:
// the first 32 are their low nibbles, the next 32 the high nibbles.
void unpack_q4_k(const std::uint8_t* b, std::uint8_t* q, float* ws, float* wm, std::size_t stride) {
  kquant_scales(b, ws, wm, stride);
  const __m256i mask = _mm256_set1_epi8(0x0f);
  for (std::size_t pair = 0; pair < 4; ++pair) {
    const __m256i v = load32(b + 16 + 32 * pair);
    store32(q + 64 * pair, _mm256_and_si256(v, mask));
    store32(q + 64 * pair + 32, _mm256_and_si256(_mm256_srli_epi16(v, 4), mask));
  }
}

// Q5_K: { fp16 d; fp16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; } as Q4_K, plus a fifth bit:
// value l of group g has it at bit g of qh[l].
void unpack_q5_k(const std::uint8_t* b, std::uint8_t* q, float* ws, float* wm, std::size_t stride) {
  kquant_scales(b, ws, wm, stride);
  const __m256i mask = _mm256_set1_epi8(0x0f), sixteen = _mm256_set1_epi8(0x10);
  const __m256i qh = load32(b + 16);
  for (std::size_t pair = 0; pair < 4; ++pair) {
    const __m256i v = load32(b + 48 + 32 * pair);
    const __mmask32 lo_bits = _mm256_test_epi8_mask(qh, _mm256_set1_epi8(static_cast<char>(1 << (2 * pair))));
    const __mmask32 hi_bits = _mm256_test_epi8_mask(qh, _mm256_set1_epi8(static_cast<char>(2 << (2 * pair))));
    // Adding 16 where the bit is set: the nibble never has that bit.
    const __m256i lo = _mm256_and_si256(v, mask), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
    store32(q + 64 * pair, _mm256_mask_add_epi8(lo, lo_bits, lo, sixteen));
    store32(q + 64 * pair + 32, _mm256_mask_add_epi8(hi, hi_bits, hi, sixteen));
  }
}

// Q6_K: { u8 ql[128]; u8 qh[64]; i8 scales[16]; fp16 d; } value 32k + l of half h (k = 0..3) takes
// its low 4 bits from ql[64h + l + 32(k & 1)] (low nibble for k < 2, high for k ≥ 2) and its top
// 2 bits from bits 2k of qh[32h + l]; the code is those 6 bits (the signed value + 32), in 16
// groups of 16 with signed 8-bit scales.
void unpack_q6_k(const std::uint8_t* b, std::uint8_t* q, float* ws, float*, std::size_t stride) {
  const float d = load_f16(b + 208);
  for (std::size_t g = 0; g < 16; ++g) ws[g * stride] = d * static_cast<float>(static_cast<std::int8_t>(b[192 + g]));
  const __m256i low4 = _mm256_set1_epi8(0x0f), top2 = _mm256_set1_epi8(0x30);
  for (std::size_t half = 0; half < 2; ++half) {
    const __m256i a = load32(b + 64 * half), c = load32(b + 64 * half + 32), h = load32(b + 128 + 32 * half);
    std::uint8_t* out = q + 128 * half;
    store32(out, _mm256_or_si256(_mm256_and_si256(a, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), top2)));
    store32(out + 32, _mm256_or_si256(_mm256_and_si256(c, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), top2)));
    store32(out + 64, _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), low4), _mm256_and_si256(h, top2)));
    store32(out + 96, _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), low4),
                                      _mm256_and_si256(_mm256_srli_epi16(h, 2), top2)));
  }
}

// {block values, block bytes, group values, bias, group offset, block offset, ActBlock256}
constexpr IntScheme kQ4_K{256, 144, 32, 0, true, false, true};
constexpr IntScheme kQ5_K{256, 176, 32, 0, true, false, true};
constexpr IntScheme kQ6_K{256, 210, 16, 32, false, false, true};

void set(KernelTable& table, TensorType type, MatmulRowsFn fn) { table.matmul_rows[static_cast<std::size_t>(type)] = fn; }

}  // namespace

void add_kquant_kernels(KernelTable& table) {
  set(table, TensorType::kQ4_K, matmul_int<kQ4_K, unpack_q4_k>);
  set(table, TensorType::kQ5_K, matmul_int<kQ5_K, unpack_q5_k>);
  set(table, TensorType::kQ6_K, matmul_int<kQ6_K, unpack_q6_k>);
}

}  // namespace pensieve::kernels::avx512
