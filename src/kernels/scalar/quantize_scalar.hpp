// kernels/scalar/quantize_scalar: float rows to the 8-bit activation blocks (scalar variant; the
// other variants must produce the same codes and scales).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pensieve::kernels::scalar {

void quantize_row_q8x32(const float* x, std::size_t cols, std::uint8_t* out);
void quantize_row_q8x256(const float* x, std::size_t cols, std::uint8_t* out);

}  // namespace pensieve::kernels::scalar
