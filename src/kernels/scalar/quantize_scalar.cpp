#include "kernels/scalar/quantize_scalar.hpp"

#include <cmath>
#include <cstring>

#include "kernels/activations.hpp"

namespace pensieve::kernels::scalar {
namespace {

// Symmetric 8-bit codes: d = max|x| / 127, q = round-to-nearest-even(x / d). The same rounding in every
// variant (SIMD rounds with the same rule), so all produce identical codes.
float quantize_codes(const float* x, std::size_t n, std::int8_t* q) {
  float amax = 0.0f;
  for (std::size_t i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float inverse = d != 0.0f ? 127.0f / amax : 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    // NaN or infinite inputs, or a block so small that 127/amax overflows, give code 0 (defined
    // here, and what every SIMD variant produces) rather than an out-of-range conversion.
    const float v = x[i] * inverse;
    q[i] = std::fabs(v) <= 127.5f ? static_cast<std::int8_t>(std::nearbyint(v)) : std::int8_t{0};
  }
  return d;
}

}  // namespace

void quantize_row_q8x32(const float* x, std::size_t cols, std::uint8_t* out) {
  for (std::size_t b = 0; b < cols / 32; ++b, x += 32) {
    ActBlock32 block;
    block.d = quantize_codes(x, 32, block.q);
    int sum = 0;
    for (std::int8_t v : block.q) sum += v;
    block.d_sum = block.d * static_cast<float>(sum);
    std::memcpy(out + b * sizeof(ActBlock32), &block, sizeof(block));
  }
}

void quantize_row_q8x256(const float* x, std::size_t cols, std::uint8_t* out) {
  for (std::size_t b = 0; b < cols / 256; ++b, x += 256) {
    ActBlock256 block;
    for (std::size_t j = 0; j < 8; ++j) block.d[j] = quantize_codes(x + 32 * j, 32, block.q + 32 * j);
    for (std::size_t g = 0; g < 16; ++g) {
      int sum = 0;
      for (std::size_t i = 0; i < 16; ++i) sum += block.q[16 * g + i];
      block.sums[g] = static_cast<std::int16_t>(sum);
    }
    std::memcpy(out + b * sizeof(ActBlock256), &block, sizeof(block));
  }
}

}  // namespace pensieve::kernels::scalar
