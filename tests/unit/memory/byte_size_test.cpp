#include "memory/byte_size.hpp"

#include <gtest/gtest.h>

namespace pensieve::memory {
namespace {

TEST(ByteSize, ParsesBinaryUnitsAndPlainBytes) {
  EXPECT_EQ(*parse_byte_size("1073741824"), 1073741824u);
  EXPECT_EQ(*parse_byte_size("2GiB"), 2 * kGiB);
  EXPECT_EQ(*parse_byte_size("2G"), 2 * kGiB);
  EXPECT_EQ(*parse_byte_size("2gb"), 2 * kGiB);
  EXPECT_EQ(*parse_byte_size("512MiB"), 512 * kMiB);
  EXPECT_EQ(*parse_byte_size(" 64 KiB "), 64 * kKiB);
  EXPECT_EQ(*parse_byte_size("1.5GiB"), 3 * kGiB / 2);
  EXPECT_EQ(*parse_byte_size("1TiB"), 1024 * kGiB);
}

TEST(ByteSize, RejectsGarbageWithAMessage) {
  auto bad_unit = parse_byte_size("2 parsecs");
  ASSERT_FALSE(bad_unit.ok());
  EXPECT_NE(bad_unit.error().message.find("parsecs"), std::string::npos);
  EXPECT_FALSE(parse_byte_size("").ok());
  EXPECT_FALSE(parse_byte_size("GiB").ok());
  EXPECT_FALSE(parse_byte_size("-5MiB").ok());
  EXPECT_FALSE(parse_byte_size("1.2.3G").ok());
  EXPECT_FALSE(parse_byte_size("99999999999TiB").ok());
}

TEST(ByteSize, PercentSpecsResolveAgainstTheTotal) {
  auto spec = parse_size_spec("10%");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->kind, SizeSpec::Kind::kPercentOfTotal);
  EXPECT_EQ(spec->resolve(16 * kGiB), 16 * kGiB / 10);
  EXPECT_EQ(parse_size_spec("12.5 %")->resolve(8 * kGiB), kGiB);
  EXPECT_FALSE(parse_size_spec("150%").ok());
  EXPECT_FALSE(parse_size_spec("%").ok());
  auto absolute = parse_size_spec("3GiB");
  ASSERT_TRUE(absolute.ok());
  EXPECT_EQ(absolute->resolve(1), 3 * kGiB);
}

TEST(ByteSize, FormatsForPeople) {
  EXPECT_EQ(format_bytes(3 * kGiB / 2), "1.50 GiB");
  EXPECT_EQ(format_bytes(312 * kMiB), "312.0 MiB");
  EXPECT_EQ(format_bytes(2048), "2.0 KiB");
  EXPECT_EQ(format_bytes(800), "800 B");
  EXPECT_DOUBLE_EQ(to_gib(3 * kGiB / 2), 1.5);
  EXPECT_DOUBLE_EQ(to_gib(kGiB + kGiB / 3), 1.33);
  EXPECT_EQ(SizeSpec::percent_of_total(7.5).to_string(), "7.5%");
}

}  // namespace
}  // namespace pensieve::memory
