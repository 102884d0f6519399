// synth/rope_factors: the rope_freqs.weight tensor a converter writes for Llama 3.1/3.2's
// "llama3" RoPE scaling, computed from the scaling parameters in config.json.
#pragma once

#include <cstdint>
#include <vector>

#include "synth/shapes.hpp"

namespace pensieve::synth {

// One divisor per rotated pair (head_dim / 2 values): 1 for high frequencies, `factor` for low
// ones, and a smooth blend between the two wavelength limits.
std::vector<float> llama3_rope_factors(const Llama3RopeScaling& scaling, double freq_base,
                                       std::uint32_t head_dim);

}  // namespace pensieve::synth
