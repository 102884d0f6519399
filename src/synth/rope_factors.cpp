#include "synth/rope_factors.hpp"

#include <cmath>
#include <numbers>

namespace pensieve::synth {

std::vector<float> llama3_rope_factors(const Llama3RopeScaling& scaling, double freq_base,
                                       std::uint32_t head_dim) {
  const double old_context = scaling.original_context;
  // Wavelengths (in positions) beyond which a frequency is fully stretched, below which untouched.
  const double low_freq_wavelength = old_context / scaling.low_freq_factor;
  const double high_freq_wavelength = old_context / scaling.high_freq_factor;
  std::vector<float> factors(head_dim / 2);
  for (std::size_t i = 0; i < factors.size(); ++i) {
    const double freq = std::pow(freq_base, -2.0 * static_cast<double>(i) / head_dim);
    const double wavelength = 2.0 * std::numbers::pi / freq;
    double factor = 1.0;
    if (wavelength > low_freq_wavelength) {
      factor = scaling.factor;
    } else if (wavelength >= high_freq_wavelength) {
      const double smooth = (old_context / wavelength - scaling.low_freq_factor) /
                            (scaling.high_freq_factor - scaling.low_freq_factor);
      factor = 1.0 / ((1.0 - smooth) / scaling.factor + smooth);
    }
    factors[i] = static_cast<float>(factor);
  }
  return factors;
}

}  // namespace pensieve::synth
