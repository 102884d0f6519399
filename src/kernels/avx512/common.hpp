// kernels/avx512/common: small helpers shared by the AVX-512 translation units, and only by them.
// Everything here has internal linkage (an unnamed namespace), so no function compiled with AVX-512
// enabled can be merged by the linker into code that runs on other CPUs. The same goes for what
// these files may call: intrinsics, plain structs and memcpy, never inline functions of other
// modules (WeightMatrix::row, tensor/half.hpp) nor std templates with out-of-line instances.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/scratch.hpp"

namespace pensieve::kernels::avx512 {

using kernels::scratch;  // compiled without AVX-512: plain allocation, no vector code

namespace {

inline float load_f16(const std::uint8_t* p) {
  std::uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return _cvtsh_ss(h);
}

inline float load_f32(const std::uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// [lo | hi] as one vector. (_mm512_inserti64x4 would do, but GCC 12 warns on the undefined
// source its header passes it.)
inline __m512i combine(__m256i lo, __m256i hi) {
  return _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(lo), 0xf0, hi);
}

inline std::size_t min_size(std::size_t a, std::size_t b) {
  return a < b ? a : b;
}
inline std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

// Σ of the 16 lanes in a fixed order (halving), so every caller reduces the same way. (Full-width
// shuffles only: GCC 12 warns on the undefined sources its headers give the extracts.)
inline float sum_lanes(__m512 v) {
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0xb1));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, 0x4e));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, 0xb1));
  return _mm512_cvtss_f32(v);
}

}  // namespace
}  // namespace pensieve::kernels::avx512
