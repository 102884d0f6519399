// kernels/q6k_planes: Q6_K rows with each block's codes rearranged at load time for kernels that
// want one block's arithmetic in as few vector operations as possible (the AVX2 Q6_K kernel).
//
// A stored Q6_K block (210 bytes: ql[128], qh[64], scales[16], d) keeps each 6-bit code in two
// pieces, a nibble and two bits, so 32 codes take a load, four to five operations and a pair of
// scales picked out by a shuffle; each run of 32 codes is one activation group, so its sum needs a
// float conversion and multiply-add of its own. The planes block is as large and keeps scales and
// d where they were; only the first 192 bytes change:
//
// - Codes (0..63, the stored value + 32) are taken as eight vectors C0..C7 of 32 bytes: byte b of
//   Ck is the code of value 32·(b / 4) + 4·k + b % 4. So dword i of every vector belongs to
//   activation group i (values 32i..32i+31): C0..C3 to its first 16 values (scale 2i), C4..C7 to
//   its second (scale 2i + 1). Integer dot products of all eight vectors then land in the lanes
//   of their own group, and a block needs one conversion and multiply-add for all 256 values.
//   The activations are met in the same order: dword i of the activation vector k is dword k of
//   group i — an 8 × 8 transpose of dwords, done once per input row and call.
// - Six planes P0..P5 of 32 bytes hold them: bits 0..5 of byte b of Pj are byte b of Cj, and bits
//   6..7 carry two bits of C6 (P0: bits 0..1, P1: 2..3, P2: 4..5) or of C7 (P3, P4, P5 alike). So
//   C0..C5 take one AND each, and C6, C7 three shifts, three ANDs and two ORs each.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pensieve::kernels {

struct WeightMatrix;

inline constexpr std::size_t kQ6KBlockBytes = 210;

// One stored Q6_K block to its planes form (`out`: kQ6KBlockBytes, not overlapping `block`).
void q6k_block_to_planes(const std::uint8_t* block, std::uint8_t* out);
// The stored block back from its planes form.
void q6k_block_from_planes(const std::uint8_t* planes, std::uint8_t* out);

// Rows [first, end) of the Q6_K matrix w (its stored rows, w.data) in planes form to
// out + r·w.row_bytes for each row r.
void repack_q6k_planes(const WeightMatrix& w, std::size_t first, std::size_t end, std::uint8_t* out);

}  // namespace pensieve::kernels
