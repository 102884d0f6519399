// kernels/fifth_bits: Q5_0 and Q5_1 blocks with their fifth bits reordered at load time, for the
// AVX2 kernels that read them from panels with the rows in the lanes (Repacking::kQ5Panels).
//
// A stored block keeps the fifth bit of value v at bit v of its qh dword. Such a kernel meets a
// row's codes a dword at a time, values 4j..4j+3 (j < 8), and must put each value's fifth bit at
// 0x10 of its byte; from the stored order that took a shuffle, two masks and a compare a dword.
// Reordered, bit 8k + j of qh holds the fifth bit of value 4j + k (k < 4): the four bits a code
// dword needs sit at the same place j of the four bytes, so one shift and one mask move them to
// 0x10. Nothing else in the block moves, so a block is as large as before.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/type.hpp"

namespace pensieve::kernels {

std::uint32_t reorder_fifth_bits(std::uint32_t qh);
std::uint32_t restore_fifth_bits(std::uint32_t reordered);

// Every block of `count` rows of `row_bytes` bytes at `rows`, of type Q5_0 or Q5_1, in place:
// reordered, or back to the stored order.
void reorder_fifth_bits_rows(tensor::TensorType type, std::uint8_t* rows, std::size_t count,
                             std::size_t row_bytes);
void restore_fifth_bits_rows(tensor::TensorType type, std::uint8_t* rows, std::size_t count,
                             std::size_t row_bytes);

}  // namespace pensieve::kernels
