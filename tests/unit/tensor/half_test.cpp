#include "tensor/half.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

namespace pensieve::tensor {
namespace {

TEST(Half, Fp16KnownValues) {
  EXPECT_EQ(fp16_to_fp32(0x0000), 0.0f);
  EXPECT_TRUE(std::signbit(fp16_to_fp32(0x8000)));
  EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_fp32(0x0400), std::ldexp(1.0f, -14));          // smallest normal
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));          // smallest subnormal
  EXPECT_EQ(fp16_to_fp32(0x03ff), std::ldexp(1023.0f, -24));       // largest subnormal
  EXPECT_EQ(fp16_to_fp32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_fp32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7e00)));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7c01)));  // signalling NaN with the smallest payload
}

// Every half value widens to a float that names the same number, and narrows back to itself.
TEST(Half, Fp16EveryPatternRoundTrips) {
  for (std::uint32_t h = 0; h <= 0xffff; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    const float f = fp16_to_fp32(bits);
    const std::uint32_t exponent = (h >> 10) & 0x1f;
    const std::uint32_t mantissa = h & 0x3ff;
    if (exponent == 0x1f && mantissa != 0) {
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(f)))) << h;
      continue;
    }
    // Independent formula for the value: (-1)^s * 2^(e-15) * (1 + m/1024), or 2^-14 * m/1024.
    const double magnitude = exponent == 0x1f ? std::numeric_limits<double>::infinity()
                             : exponent == 0  ? std::ldexp(static_cast<double>(mantissa), -24)
                                              : std::ldexp(1.0 + mantissa / 1024.0, static_cast<int>(exponent) - 15);
    const double expected = (h & 0x8000) != 0 ? -magnitude : magnitude;
    ASSERT_EQ(static_cast<double>(f), expected) << h;
    ASSERT_EQ(fp32_to_fp16(f), bits) << h;
  }
}

// The nearest half to a float, found by brute force over the (independently checked) decoder.
std::uint16_t nearest_fp16_by_search(float f) {
  const double x = f;
  const std::uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double a = std::fabs(x);
  if (a >= 65520.0) return sign | 0x7c00;
  std::uint16_t lo = 0, hi = 0x7bff;  // largest magnitude pattern whose value is <= a
  while (lo < hi) {
    const auto mid = static_cast<std::uint16_t>((lo + hi + 1) / 2);
    if (fp16_to_fp32(mid) <= a) lo = mid; else hi = static_cast<std::uint16_t>(mid - 1);
  }
  if (lo == 0x7bff) return sign | lo;
  const double below = fp16_to_fp32(lo), above = fp16_to_fp32(static_cast<std::uint16_t>(lo + 1));
  std::uint16_t pick = lo;
  if (a - below > above - a || (a - below == above - a && (lo & 1) != 0)) pick = static_cast<std::uint16_t>(lo + 1);
  return sign | pick;
}

TEST(Half, Fp32ToFp16RoundsToNearestEven) {
  // Exact ties and their neighbours around 1.0: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(fp32_to_fp16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
  EXPECT_EQ(fp32_to_fp16(65519.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);  // tie between 0 and the smallest subnormal
  EXPECT_EQ(fp32_to_fp16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);  // tie between 1 and 2 subnormal units
  EXPECT_EQ(fp32_to_fp16(std::ldexp(2047.0f, -25)), 0x0400);  // carries into the smallest normal
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload sits only in the low float bits must not become infinity.
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(std::bit_cast<float>(0x7f800001u)))));

  std::mt19937 rng(7);
  for (int i = 0; i < 400000; ++i) {
    // Exponents from below the subnormal range to past the largest half, random mantissas.
    const std::uint32_t exponent = 95 + rng() % 50;
    const std::uint32_t bits = (rng() & 0x80000000u) | (exponent << 23) | (rng() & 0x7fffffu);
    const float f = std::bit_cast<float>(bits);
    ASSERT_EQ(fp32_to_fp16(f), nearest_fp16_by_search(f)) << std::hexfloat << f;
  }
}

TEST(Half, Bf16) {
  EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_fp32(0xc040), -3.0f);
  EXPECT_EQ(bf16_to_fp32(0x0001), std::ldexp(1.0f, -133));  // subnormal
  EXPECT_EQ(bf16_to_fp32(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16_to_fp32(0x7fc0)));
  EXPECT_EQ(fp32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie, to even
  EXPECT_EQ(fp32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // tie, to even (up)
  EXPECT_EQ(fp32_to_bf16(std::nextafter(1.0f + std::ldexp(1.0f, -8), 2.0f)), 0x3f81);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds up to infinity
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(std::bit_cast<float>(0x7f800001u)))));
  for (std::uint32_t b = 0; b <= 0xffff; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float f = bf16_to_fp32(bits);
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_bf16(f), bits) << b;
  }
}

}  // namespace
}  // namespace pensieve::tensor
