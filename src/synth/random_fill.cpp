#include "synth/random_fill.hpp"

#include <cmath>

namespace pensieve::synth {
namespace {

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ull;  // 2^64 / φ: splitmix64's increment

// splitmix64's output function (Steele, Lea and Flood, 2014): a bijection that scrambles well.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Four uniform 16-bit lanes sum to mean 4·32767.5 and variance 4·(65536² − 1)/12.
constexpr float kLaneSumMean = 4.0f * 32767.5f;
const float kLaneSumStd = static_cast<float>(std::sqrt(4.0 * (65536.0 * 65536.0 - 1.0) / 12.0));

}  // namespace

std::uint64_t tensor_stream(std::uint64_t seed, std::string_view tensor_name) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a: stable across platforms and runs
  for (unsigned char c : tensor_name) h = (h ^ c) * 0x100000001b3ull;
  return mix64(mix64(seed) ^ h);
}

void random_row(std::uint64_t stream, std::uint64_t row, float std_dev, std::span<float> out) {
  std::uint64_t state = mix64(stream + mix64(row + 1) * kGolden);
  const float scale = std_dev / kLaneSumStd;
  for (float& v : out) {
    state += kGolden;
    const std::uint64_t z = mix64(state);
    const auto lanes =
        static_cast<float>((z & 0xffff) + ((z >> 16) & 0xffff) + ((z >> 32) & 0xffff) + (z >> 48));
    v = (lanes - kLaneSumMean) * scale;
  }
}

}  // namespace pensieve::synth
