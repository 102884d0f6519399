// kernels/avx512/legacy: the 32-value block types (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) against
// ActBlock32 activations. Each type only says how a block becomes 32 unsigned codes (its signed
// code plus a bias, corrected exactly by the activations' sums), a scale and, for the _1 types,
// an offset; int_panels does the rest.
#include "kernels/avx512/entries.hpp"
#include "kernels/avx512/int_panels.hpp"

namespace pensieve::kernels::avx512 {
namespace {

using tensor::TensorType;

// Value j of a 32-value block sits in byte j % 16 of qs: low nibble for j < 16, else high.
inline __m256i nibbles(const std::uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i lo = _mm_and_si128(packed, mask);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), mask);
  return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

// Bit j of qh as 16 in byte j: the fifth bit of the _5 types.
inline __m256i fifth_bits(const std::uint8_t* qh) {
  return _mm256_maskz_mov_epi8(load_u32(qh), _mm256_set1_epi8(0x10));
}

inline void store32(std::uint8_t* q, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), v); }

// Q8_0: { fp16 d; i8 q[32]; } — codes + 128.
void unpack_q8_0(const std::uint8_t* b, std::uint8_t* q, float* ws, float*, std::size_t) {
  *ws = load_f16(b);
  const __m256i codes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2));
  store32(q, _mm256_xor_si256(codes, _mm256_set1_epi8(static_cast<char>(0x80))));
}

// Q4_0: { fp16 d; u8 qs[16]; } value d·(nibble − 8): the nibble is the code + 8.
void unpack_q4_0(const std::uint8_t* b, std::uint8_t* q, float* ws, float*, std::size_t) {
  *ws = load_f16(b);
  store32(q, nibbles(b + 2));
}

// Q4_1: { fp16 d; fp16 m; u8 qs[16]; } value d·nibble + m.
void unpack_q4_1(const std::uint8_t* b, std::uint8_t* q, float* ws, float* wm, std::size_t) {
  *ws = load_f16(b);
  *wm = load_f16(b + 2);
  store32(q, nibbles(b + 4));
}

// Q5_0: { fp16 d; u32 qh; u8 qs[16]; } value d·(nibble | fifth bit << 4 − 16).
void unpack_q5_0(const std::uint8_t* b, std::uint8_t* q, float* ws, float*, std::size_t) {
  *ws = load_f16(b);
  store32(q, _mm256_or_si256(nibbles(b + 6), fifth_bits(b + 2)));
}

// Q5_1: { fp16 d; fp16 m; u32 qh; u8 qs[16]; } value d·(nibble | fifth bit << 4) + m.
void unpack_q5_1(const std::uint8_t* b, std::uint8_t* q, float* ws, float* wm, std::size_t) {
  *ws = load_f16(b);
  *wm = load_f16(b + 2);
  store32(q, _mm256_or_si256(nibbles(b + 8), fifth_bits(b + 4)));
}

// IQ4_NL: { fp16 d; u8 qs[16]; } value d·grid[nibble]; the grid (signed) is looked up + 128.
void unpack_iq4_nl(const std::uint8_t* b, std::uint8_t* q, float* ws, float*, std::size_t) {
  *ws = load_f16(b);
  // The IQ4_NL grid {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
  // plus 128, in both 128-bit lanes for vpshufb.
  const __m256i grid = _mm256_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, static_cast<char>(129), static_cast<char>(141),
                                        static_cast<char>(153), static_cast<char>(166), static_cast<char>(181),
                                        static_cast<char>(197), static_cast<char>(217), static_cast<char>(241), 1, 24,
                                        45, 63, 79, 93, 106, 118, static_cast<char>(129), static_cast<char>(141),
                                        static_cast<char>(153), static_cast<char>(166), static_cast<char>(181),
                                        static_cast<char>(197), static_cast<char>(217), static_cast<char>(241));
  store32(q, _mm256_shuffle_epi8(grid, nibbles(b + 2)));
}

// {block values, block bytes, group values, bias, group offset, block offset, ActBlock256}
constexpr IntScheme kQ8_0{32, 34, 32, 128, false, false, false};
constexpr IntScheme kQ4_0{32, 18, 32, 8, false, false, false};
constexpr IntScheme kQ4_1{32, 20, 32, 0, false, true, false};
constexpr IntScheme kQ5_0{32, 22, 32, 16, false, false, false};
constexpr IntScheme kQ5_1{32, 24, 32, 0, false, true, false};
constexpr IntScheme kIQ4_NL{32, 18, 32, 128, false, false, false};

void set(KernelTable& table, TensorType type, MatmulRowsFn fn) { table.matmul_rows[static_cast<std::size_t>(type)] = fn; }

}  // namespace

void add_legacy_kernels(KernelTable& table) {
  set(table, TensorType::kQ8_0, matmul_int<kQ8_0, unpack_q8_0>);
  set(table, TensorType::kQ4_0, matmul_int<kQ4_0, unpack_q4_0>);
  set(table, TensorType::kQ4_1, matmul_int<kQ4_1, unpack_q4_1>);
  set(table, TensorType::kQ5_0, matmul_int<kQ5_0, unpack_q5_0>);
  set(table, TensorType::kQ5_1, matmul_int<kQ5_1, unpack_q5_1>);
  set(table, TensorType::kIQ4_NL, matmul_int<kIQ4_NL, unpack_iq4_nl>);
}

}  // namespace pensieve::kernels::avx512
