// Round trips (every value within its block's step) and known values (hand-computed bytes, and
// exactly representable inputs that must come back unchanged).
#include "tensor/quantize.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "tensor/dequantize.hpp"
#include "tensor/half.hpp"

namespace pensieve::tensor {
namespace {

std::vector<std::uint8_t> encode(TensorType type, const std::vector<float>& x) {
  std::vector<std::uint8_t> bytes(*bytes_for(type, x.size()) + 1);
  quantize(type, x.data(), bytes.data() + 1, x.size());  // odd address on purpose
  return {bytes.begin() + 1, bytes.end()};
}

std::vector<float> round_trip(TensorType type, const std::vector<float>& x) {
  const auto bytes = encode(type, x);
  std::vector<float> y(x.size());
  dequantize(type, bytes.data(), y.data(), y.size());
  return y;
}

// Test data that stresses the scale choices: groups of very different magnitudes, all-negative,
// all-positive, constant and all-zero groups, and an outlier.
std::vector<float> awkward_values(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t group = i / 16;
    const float magnitude = std::ldexp(1.0f, static_cast<int>(group % 9) - 4);
    switch (group % 7) {
      case 0: x[i] = magnitude * std::fabs(normal(rng)); break;
      case 1: x[i] = -magnitude * std::fabs(normal(rng)) - magnitude; break;
      case 2: x[i] = 0.0f; break;
      case 3: x[i] = 0.75f * magnitude; break;
      default: x[i] = magnitude * normal(rng); break;
    }
  }
  x[n / 3] = 40.0f;
  return x;
}

struct Span {
  float lo = 0, hi = 0;  // including 0
  float absmax() const { return std::max(-lo, hi); }
  float range() const { return hi - lo; }
};

Span span_of(const std::vector<float>& x, std::size_t begin, std::size_t n) {
  Span s;
  for (std::size_t i = begin; i < begin + n; ++i) {
    s.lo = std::min(s.lo, x[i]);
    s.hi = std::max(s.hi, x[i]);
  }
  return s;
}

// The allowed error of each value, from the scheme each quantizer documents; 1.002 covers fp16
// rounding of the scales (rounded up, so at most 2^-10 relative).
using Bound = std::function<float(const std::vector<float>& x, std::size_t i)>;

Bound per_group(std::size_t group, std::function<float(Span)> f) {
  return [group, f](const std::vector<float>& x, std::size_t i) {
    return f(span_of(x, i / group * group, group)) * 1.002f + 1e-7f;
  };
}

// Q4_K / Q5_K: half the group's step, the step grown by the rounding-up of the offset and scale.
Bound k_with_min(float max_code) {
  return [max_code](const std::vector<float>& x, std::size_t i) {
    const std::size_t block = i / 256 * 256;
    float largest_min = 0, largest_range = 0;
    for (std::size_t g = 0; g < 8; ++g) {
      const Span s = span_of(x, block + 32 * g, 32);
      largest_min = std::max(largest_min, -s.lo);
      largest_range = std::max(largest_range, s.range());
    }
    const float dmin = largest_min / 63.0f * 1.002f;
    const float d = (largest_range + dmin) / max_code / 63.0f * 1.002f;
    const Span s = span_of(x, i / 32 * 32, 32);
    return 0.5f * ((s.range() + dmin) / max_code + d) * 1.002f + 1e-7f;
  };
}

Bound q6_k_bound() {
  return [](const std::vector<float>& x, std::size_t i) {
    const std::size_t block = i / 256 * 256;
    float largest = 0;
    for (std::size_t g = 0; g < 16; ++g) largest = std::max(largest, span_of(x, block + 16 * g, 16).absmax());
    const float d = largest / 31.0f / 127.0f * 1.002f;
    return 0.5f * (span_of(x, i / 16 * 16, 16).absmax() / 31.0f + d) * 1.002f + 1e-7f;
  };
}

struct RoundTripCase {
  TensorType type;
  Bound bound;
};

TEST(Quantize, RoundTripStaysWithinTheStep) {
  const std::vector<RoundTripCase> cases = {
      {TensorType::kF32, [](const auto&, std::size_t) { return 0.0f; }},
      {TensorType::kF16, [](const auto& x, std::size_t i) { return std::fabs(x[i]) * 0x1p-11f + 0x1p-25f; }},
      {TensorType::kBF16, [](const auto& x, std::size_t i) { return std::fabs(x[i]) * 0x1p-8f; }},
      {TensorType::kQ8_0, per_group(32, [](Span s) { return 0.5f * s.absmax() / 127; })},
      {TensorType::kQ4_0, per_group(32, [](Span s) { return s.absmax() / 8; })},   // +8 clips to +7
      {TensorType::kQ5_0, per_group(32, [](Span s) { return s.absmax() / 16; })},  // +16 clips to +15
      // The _1 types use the true minimum, not min(lo, 0); their span is smaller or equal.
      {TensorType::kQ4_1, per_group(32, [](Span s) { return 0.5f * s.range() / 15; })},
      {TensorType::kQ5_1, per_group(32, [](Span s) { return 0.5f * s.range() / 31; })},
      // IQ4_NL: grid gaps reach 24 units of absmax/127 and the top of the grid (113) clips 127.
      {TensorType::kIQ4_NL, per_group(32, [](Span s) { return 14.0f * s.absmax() / 127; })},
      // MXFP4: the scale 2^E is the smallest with absmax ≤ 6·2^E, so 2^E < absmax / 3; the widest
      // gap of the E2M1 grid (4 to 6) is two of those, half of it one.
      {TensorType::kMXFP4, per_group(32, [](Span s) { return s.absmax() / 3; })},
      {TensorType::kQ4_K, k_with_min(15)},
      {TensorType::kQ5_K, k_with_min(31)},
      {TensorType::kQ6_K, q6_k_bound()},
      {TensorType::kQ8_K, per_group(256, [](Span s) { return 0.5f * s.absmax() / 127; })},
  };
  const auto x = awkward_values(4 * 256, 11);
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(name_of(c.type)));
    ASSERT_TRUE(can_quantize(c.type));
    const auto y = round_trip(c.type, x);
    int failures = 0;
    for (std::size_t i = 0; i < x.size() && failures < 5; ++i) {
      const float err = std::fabs(y[i] - x[i]);
      if (!(err <= c.bound(x, i))) {
        ADD_FAILURE() << "value " << i << ": " << x[i] << " came back as " << y[i] << " (allowed error "
                      << c.bound(x, i) << ")";
        ++failures;
      }
    }
  }
}

// On well-behaved data the average error must be that of a working quantizer, not merely bounded.
TEST(Quantize, RelativeRmsOnGaussianWeights) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> x(64 * 256);
  for (auto& v : x) v = normal(rng);
  const std::vector<std::pair<TensorType, double>> limits = {
      {TensorType::kQ8_0, 0.006}, {TensorType::kQ4_0, 0.095}, {TensorType::kQ4_1, 0.09},
      {TensorType::kQ5_0, 0.048}, {TensorType::kQ5_1, 0.043}, {TensorType::kIQ4_NL, 0.09},
      {TensorType::kQ4_K, 0.09},  {TensorType::kQ5_K, 0.045}, {TensorType::kQ6_K, 0.022},
      {TensorType::kQ8_K, 0.008}, {TensorType::kMXFP4, 0.13}};
  for (const auto& [type, limit] : limits) {
    const auto y = round_trip(type, x);
    double err = 0, ref = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      err += static_cast<double>(y[i] - x[i]) * (y[i] - x[i]);
      ref += static_cast<double>(x[i]) * x[i];
    }
    const double rms = std::sqrt(err / ref);
    EXPECT_LE(rms, limit) << name_of(type);
    RecordProperty(std::string(name_of(type)) + "_relative_rms", std::to_string(rms));
  }
}

TEST(Quantize, Q8_0KnownBytes) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = 0.5f * static_cast<float>(3 * j - 40);
  x[7] = -63.5f;  // largest magnitude: d = 63.5 / 127 = 0.5
  const auto bytes = encode(TensorType::kQ8_0, x);
  ASSERT_EQ(bytes.size(), 34u);
  EXPECT_EQ(bytes[0] | (bytes[1] << 8), 0x3800);
  for (int j = 0; j < 32; ++j) {
    EXPECT_EQ(static_cast<std::int8_t>(bytes[2 + j]), j == 7 ? -127 : 3 * j - 40) << j;
  }
}

TEST(Quantize, Q4_0KnownBytes) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = 0.5f * static_cast<float>(j % 16 - 8);  // -4 is the extreme
  const auto bytes = encode(TensorType::kQ4_0, x);
  EXPECT_EQ(bytes[0] | (bytes[1] << 8), 0x3800);  // d = -4 / -8 = 0.5
  for (int j = 0; j < 16; ++j) EXPECT_EQ(bytes[2 + j], j | (j << 4)) << j;
}

// Codes: bit 3 the sign, then twice the magnitude's index in {0, 0.5, 1, 1.5, 2, 3, 4, 6}.
TEST(Quantize, MXFP4KnownBytes) {
  // Largest magnitude 5 ≤ 6: scale 1, e = 127. Values off the grid take the nearest point; ties
  // take the even code (mantissa bit 0): 0.25 → 0, 0.75 → 1, 2.5 → 2, 3.5 → 4, 5 → 4.
  std::vector<float> x(32, 0.0f);
  const float values[] = {0.5f, -1.5f, 2.5f, 3.5f, -5.0f, 0.2f, 0.25f, -0.3f, 0.75f, -0.0f};
  const std::uint8_t codes[] = {0x1, 0xb, 0x4, 0x6, 0xe, 0x0, 0x0, 0x9, 0x2, 0x8};
  for (std::size_t j = 0; j < std::size(values); ++j) x[j] = values[j];
  auto bytes = encode(TensorType::kMXFP4, x);
  ASSERT_EQ(bytes.size(), 17u);
  EXPECT_EQ(bytes[0], 127);
  for (std::size_t j = 0; j < std::size(codes); ++j) EXPECT_EQ(bytes[1 + j], codes[j]) << j;

  // 6.5 > 6 needs scale 2 (e = 128); as value 20 it is the high nibble of value 4's byte. Now
  // -5 is 2.5 steps of 2: a tie, to -4 (code 0xc); 6.5 is 3.25 steps: 3, that is 6 (code 5).
  x[20] = 6.5f;
  bytes = encode(TensorType::kMXFP4, x);
  EXPECT_EQ(bytes[0], 128);
  EXPECT_EQ(bytes[1 + 4], 0x5c);
}

TEST(Quantize, Q4_KKnownBytes) {
  // Group g holds k * s[g] for k = 0..15: no minimum, group scales s[g], super-scale d = 63 / 63.
  const int s[8] = {1, 2, 5, 17, 31, 40, 50, 63};
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[i] = static_cast<float>((i % 16) * s[i / 32]);
  const auto bytes = encode(TensorType::kQ4_K, x);
  ASSERT_EQ(bytes.size(), 144u);
  EXPECT_EQ(bytes[0] | (bytes[1] << 8), 0x3c00);  // d = 1
  EXPECT_EQ(bytes[2] | (bytes[3] << 8), 0x0000);  // dmin = 0
  // Scales 0..3 whole in bytes 0..3, with the top two bits of scales 4..7 (31, 40, 50, 63 have
  // top bits 1, 2, 3, 3) above them; bytes 8..11 hold the low nibbles of scales 4..7 (15, 8, 2, 15).
  const std::uint8_t packed[12] = {1 | 1 << 6, 2 | 2 << 6, 5 | 3 << 6, 17 | 3 << 6, 0, 0, 0, 0, 15, 8, 2, 15};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(bytes[4 + i], packed[i]) << i;
  for (int i = 0; i < 128; ++i) EXPECT_EQ(bytes[16 + i], (i % 16) | ((i % 16) << 4)) << i;
}

// Inputs that lie exactly on a type's grid must come back unchanged.
TEST(Quantize, RepresentableValuesRoundTripExactly) {
  std::vector<float> x(256);
  // Q6_K: group g of 16 holds c * (g + 1) * 0.25 with c in [-31, 31]; group 15's 31 * 4 = 124 sets
  // d = 124 / 31 / 127, which is not a round number, so use the largest scale 127 instead.
  for (int i = 0; i < 256; ++i) x[i] = static_cast<float>(((i * 7) % 63) - 31) * static_cast<float>(i / 16 == 15 ? 127 : (i / 16 + 1) * 8);
  for (int i = 240; i < 256; ++i) x[i] = static_cast<float>(i % 2 == 0 ? 31 : -31) * 127;
  EXPECT_EQ(round_trip(TensorType::kQ6_K, x), x);

  // Q8_K: a float32 scale, so any integers up to 127 times a power of two.
  for (int i = 0; i < 256; ++i) x[i] = static_cast<float>((i * 37) % 255 - 127) * 0.125f;
  EXPECT_EQ(round_trip(TensorType::kQ8_K, x), x);

  // Q5_1: minimum -3, step 0.25: codes 0..31.
  std::vector<float> y(32);
  for (int j = 0; j < 32; ++j) y[j] = -3.0f + 0.25f * static_cast<float>((j * 13) % 32);
  y[0] = -3.0f;
  y[1] = -3.0f + 0.25f * 31;
  EXPECT_EQ(round_trip(TensorType::kQ5_1, y), y);

  // Q5_K: group g spans [-g, 31 - g] in steps of 1. The scheme sets dmin = (largest min) / 63 and
  // d = (largest scale) / 63, so group 6 reaches down to -63 and group 7 up to 31 * 63 to make
  // both exactly 1.
  std::vector<float> z(256);
  for (int i = 0; i < 256; ++i) z[i] = static_cast<float>(i % 32 - (i / 32));
  for (int i = 192; i < 224; ++i) z[i] = static_cast<float>(i % 32 - 63);
  for (int i = 224; i < 256; ++i) z[i] = static_cast<float>((i % 32) * 63);
  EXPECT_EQ(round_trip(TensorType::kQ5_K, z), z);

  // MXFP4: any E2M1 values (signed zeros too) times a power of two per block, from the smallest
  // scale (2^-127, subnormal) to the largest that decodes within the float range; blocks whose largest
  // magnitude is not 6 (3, 1, 0.5) get a finer scale that still holds them.
  const float e2m1[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
  const int exponents[] = {-127, -60, -3, 0, 5, 40, 125};
  const int top_codes[] = {7, 5, 2, 1};
  std::vector<float> m(32 * std::size(exponents) * std::size(top_codes));
  for (std::size_t i = 0; i < m.size(); ++i) {
    const std::size_t block = i / 32, top = static_cast<std::size_t>(top_codes[block % std::size(top_codes)]);
    const std::size_t code = (i * 5) % 16 % 8 <= top ? (i * 5) % 16 : top;
    m[i] = std::ldexp(e2m1[code], exponents[block / std::size(top_codes)]);
  }
  const auto back = round_trip(TensorType::kMXFP4, m);
  for (std::size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(back[i], m[i]) << i;
    EXPECT_EQ(std::signbit(back[i]), std::signbit(m[i])) << i;
  }
}

TEST(Quantize, ZerosStayZero) {
  const std::vector<float> zeros(256, 0.0f);
  for (auto type :
       {TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ5_0, TensorType::kQ4_1, TensorType::kQ5_1,
        TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K, TensorType::kQ8_K, TensorType::kMXFP4}) {
    EXPECT_EQ(round_trip(type, zeros), zeros) << name_of(type);
  }
}

// At the top of the float range MXFP4's scale stops at 2^125, so that no code decodes to
// infinity: the largest floats clip to 6·2^125.
TEST(Quantize, MXFP4LargestFloatsStayFinite) {
  std::vector<float> x(32, std::numeric_limits<float>::max());
  x[1] = -std::numeric_limits<float>::max();
  x[2] = 0x1p127f;
  const auto y = round_trip(TensorType::kMXFP4, x);
  EXPECT_EQ(y[0], 0x1.8p127f);
  EXPECT_EQ(y[1], -0x1.8p127f);
  EXPECT_EQ(y[2], 0x1p127f);
}

TEST(Quantize, NonFiniteInputDoesNotMisbehave) {
  // NaN and infinity have no quantized form; the quantizers must still return (UBSan watches the
  // float-to-int conversions) and leave finite blocks untouched.
  std::vector<float> x(768, 1.0f);
  x[3] = std::nanf("");
  x[300] = INFINITY;
  for (auto type : {TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ4_1, TensorType::kQ5_0,
                    TensorType::kQ5_1, TensorType::kIQ4_NL, TensorType::kQ4_K, TensorType::kQ5_K,
                    TensorType::kQ6_K, TensorType::kQ8_K, TensorType::kMXFP4}) {
    const auto y = round_trip(type, x);
    EXPECT_NEAR(y[700], 1.0f, 0.1f) << name_of(type);
  }
}

}  // namespace
}  // namespace pensieve::tensor
