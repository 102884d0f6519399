// kernels/attention_kernels: the inner loops of tiled attention, one set per instruction-set
// variant (an entry of KernelTable). The driver (flash_attention.hpp) walks the keys in tiles of
// kKeyTile; for each tile these functions turn the cached keys and values into floats, score a
// block of query rows against the keys, update the online softmax and accumulate the values.
//
// Buffers are float, row-major, with fixed strides so the SIMD variants can keep whole rows in
// registers: a score row is kKeyTile wide, keys come transposed (one row of kKeyTile per
// dimension). Every variant must match the scalar one within float rounding of its summation
// order; tests/unit/kernels/attention_variants_test.cpp holds them to it.
//
// Included by the instruction-set translation units: types only, no inline functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "kernels/kv_type.hpp"

namespace pensieve::kernels {

inline constexpr std::size_t kKeyTile = 64;  // keys per tile (a multiple of every SIMD width)

// Keys of one tile from the cache's tile layout (kv_cache.hpp): `tile` holds kKeyTile positions
// transposed — for f32/f16, value (position j, dimension d) at element d·kKeyTile + j; for q8_0,
// kKeyTile·dim/32 f16 scales (scale of block b of position j at b·kKeyTile + j) followed by the
// int8 codes at d·kKeyTile + j. Writes out[d·kKeyTile + j] for j < n ≤ kKeyTile and zero for
// n ≤ j < kKeyTile, so the padding can never be NaN (positions past n may hold anything).
using LoadKeysFn = void (*)(const std::uint8_t* tile, std::size_t n, std::size_t dim, float* out);

// Values of `n` consecutive positions, each a row of `dim` values in the type's row format (f32,
// f16, or q8_0 blocks) at rows + j·row_bytes. Writes out[j·dim + d] for j < n.
using LoadValuesFn = void (*)(const std::uint8_t* rows, std::size_t row_bytes, std::size_t n, std::size_t dim,
                              float* out);

// s[m·kKeyTile + j] = Σ_d q[m·dim + d] · kt[d·kKeyTile + j] for m < rows, j < kKeyTile.
using ScoresFn = void (*)(const float* q, std::size_t rows, std::size_t dim, const float* kt, float* s);

// One online-softmax step over a tile of scores (masked entries are -inf). For each row m:
// new_max = max(row_max[m], max_j s), s ← exp(s − new_max), row_sum[m] ← row_sum[m]·exp(row_max[m] −
// new_max) + Σ_j s, acc row m (dim_v floats at acc + m·dim_v) scaled by the same factor, row_max[m]
// ← new_max. A row whose scores and running max are all -inf is left as zeros, unchanged.
using SoftmaxStepFn = void (*)(float* s, std::size_t rows, float* row_max, float* row_sum, float* acc,
                               std::size_t dim_v);

// acc[m·dim_v + d] += Σ_{j<n} p[m·kKeyTile + j] · v[j·dim_v + d] for m < rows.
using AccumulateFn = void (*)(const float* p, std::size_t rows, std::size_t n, const float* v,
                              std::size_t dim_v, float* acc);

// scores and accumulate straight from an f16 or q8_0 cache, for passes of a few query rows
// (decoding), where converting a tile into the float buffers first cost as much as the products:
// `tile` and `rows` are what load_keys and load_values read. Each sum has the same terms in the
// same order as load_keys + scores (load_values + accumulate) of the same variant and cache type,
// so the same bits. Scores of positions n and past are left as whatever the tile holds there (the
// driver masks them). `ahead`, where not null, points at as many bytes as the call reads from the
// cache (a key tile, or n value rows): the part the driver reads a few calls later. The variant
// asks for them into L2 as it goes, spread over its reading, so that memory works while the
// products run; that changes no result.
using ScoresInPlaceFn = void (*)(const float* q, std::size_t rows, std::size_t dim, const std::uint8_t* tile,
                                 float* s, const std::uint8_t* ahead);
using AccumulateInPlaceFn = void (*)(const float* p, std::size_t rows, std::size_t n,
                                     const std::uint8_t* rows_f16, std::size_t row_bytes, std::size_t dim_v,
                                     float* acc, const std::uint8_t* ahead);

struct AttentionKernels {
  std::array<LoadKeysFn, kKvTypes> load_keys{};      // by KvType
  std::array<LoadValuesFn, kKvTypes> load_values{};  // by KvType
  ScoresFn scores = nullptr;
  SoftmaxStepFn softmax_step = nullptr;
  AccumulateFn accumulate = nullptr;
  // Optional (a variant without them converts tiles first): together or not at all.
  ScoresInPlaceFn scores_f16 = nullptr;
  AccumulateInPlaceFn accumulate_f16 = nullptr;
  // The same for a q8_0 cache.
  ScoresInPlaceFn scores_q8_0 = nullptr;
  AccumulateInPlaceFn accumulate_q8_0 = nullptr;
};

// Each variant's entries (empty ones fall back to the scalar variant's).
AttentionKernels scalar_attention_kernels();
AttentionKernels avx2_attention_kernels();
AttentionKernels avx512_attention_kernels();

// Fills the empty entries of `table` from `fallback`.
AttentionKernels merged_attention_kernels(AttentionKernels table, const AttentionKernels& fallback);

}  // namespace pensieve::kernels
