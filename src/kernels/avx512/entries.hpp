// kernels/avx512/entries: the functions each AVX-512 translation unit contributes to the table.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernel_table.hpp"

namespace pensieve::kernels::avx512 {

void quantize_row_q8x32(const float* x, std::size_t cols, std::uint8_t* out);
void quantize_row_q8x256(const float* x, std::size_t cols, std::uint8_t* out);

void add_legacy_kernels(KernelTable& table);  // Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, MXFP4
void add_kquant_kernels(KernelTable& table);  // Q4_K, Q5_K, Q6_K
void add_float_kernels(KernelTable& table);   // F32, F16, BF16

}  // namespace pensieve::kernels::avx512
